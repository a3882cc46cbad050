"""The columns of each ledger kind as staff see them: bilingual label, input type, choices and
an example value. The entry page, the Excel template and the upload reader share this list,
so a field is called the same on the page, in the sheet and in the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.enums import ActivityKind, DispatchRole, GapLevel

YES_NO = (("是", "是 yes"), ("否", "否 no"))


@dataclass(frozen=True)
class Column:
    name: str  # the API field name
    label: str  # 中文 English
    type: str = "text"  # text | date | number | select | yesno | textarea | list
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    example: Any = ""
    required: bool = False
    hint: str = ""

    @property
    def header(self) -> str:
        """The bilingual header of an Excel column: label, then the field name in brackets."""
        return f"{self.label} [{self.name}]"


def _enum(values: Any) -> tuple[tuple[str, str], ...]:
    return tuple((v.value, f"{v.label_zh} {v.value}") for v in values)


@dataclass(frozen=True)
class Sheet:
    kind: str
    columns: tuple[Column, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


SHEETS: dict[str, Sheet] = {s.kind: s for s in (
    Sheet("dispatches", (
        Column("name", "专家姓名 Expert", required=True, example="王建国"),
        Column("home_hospital", "派出医院编码 Home hospital code", required=True,
               example="NRMC-O001", hint="输出医院编码 the output hospital's code"),
        Column("department", "科室 Department", example="心血管内科"),
        Column("title", "职称 Title", example="主任医师"),
        Column("role", "角色 Role", "select", _enum(DispatchRole), example="dual_director"),
        Column("team", "批次/团队 Team", example="第3批"),
        Column("start_date", "开始 Start", "date", required=True, example="2025-03-01"),
        Column("end_date", "结束 End", "date", required=True, example="2025-05-31"),
    )),
    Sheet("activities", (
        Column("occurred_on", "日期 Date", "date", required=True, example="2025-03-03"),
        Column("kind", "类别 Kind", "select", _enum(ActivityKind), required=True, example="surgery"),
        Column("department", "科室 Department", example="心血管内科"),
        Column("count", "数量 Count", "number", example=4,
               hint="手术台数/门诊人次/病例数/参加人数/教学次数 "
                    "operations, patients, cases, attendees or sessions"),
        Column("surgery_grade", "手术级别 Surgery grade (1–4)", "select",
               (("1", "一级 1"), ("2", "二级 2"), ("3", "三级 3"), ("4", "四级 4")), example=3),
        Column("complex_case", "疑难/多学科 Complex or MDT", "yesno", YES_NO, example="否"),
        Column("dispatch_id", "派驻编号 Dispatch id", "number", hint="可不填 optional"),
        Column("note", "备注 Note", example=""),
    )),
    Sheet("technologies", (
        Column("name", "技术名称 Technology", required=True, example="经导管主动脉瓣置换术 TAVR"),
        Column("department", "科室 Department", example="心血管内科"),
        Column("first_case_on", "首例日期 First case", "date", required=True, example="2025-04-10"),
        Column("cases_since", "累计例数 Cases", "number", example=6),
        Column("gap_level", "填补空白 Gap filled", "select", _enum(GapLevel), required=True,
               example="province"),
    )),
    Sheet("trainees", (
        Column("name", "姓名 Name", required=True, example="李娜"),
        Column("home_hospital", "所在医院 Home hospital", example="金塔县人民医院"),
        Column("county", "所在县 County", example="金塔县"),
        Column("programme", "培训项目 Programme", required=True, example="心内科进修"),
        Column("trained_on", "开始 Start", "date", required=True, example="2025-03-01"),
        Column("end_date", "结束 End", "date", example="2025-08-31"),
        Column("completed", "已结业 Completed", "yesno", YES_NO, example="否"),
        Column("hours", "学时 Hours", "number", example=480),
    )),
    Sheet("visits", (
        Column("visited_on", "调研日期 Date", "date", required=True, example="2025-05-20"),
        Column("lead", "组长 Lead", required=True, example="张组长"),
        Column("members", "成员 Members", "list", example="李委员、赵委员",
               hint="用顿号或逗号分隔 separate with 、 or ,"),
        Column("findings", "发现 Findings", "textarea", example="ICU 护士不足"),
        Column("score", "评分 Score (0–100)", "number", example=86),
    ), notes=("整改事项在网页上逐条填写 Follow-up actions are entered on the page",)),
)}


def split_list(text: str) -> list[str]:
    """A list cell ("李委员、赵委员" or "a, b") as items."""
    for sep in ("、", "，", ";", "；"):
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


def form_values(kind: str, raw: dict[str, str]) -> dict[str, Any]:
    """Typed-in text as input for the kind's schema: blank optional cells are left out (the
    schema default applies), lists are split, everything else goes to the schema as text."""
    sheet = SHEETS[kind]
    values: dict[str, Any] = {}
    for column in sheet.columns:
        text = raw.get(column.name, "")
        text = text.strip() if isinstance(text, str) else text
        if text == "" and not column.required:
            continue
        if column.type == "date" and isinstance(text, str) and text.endswith(" 00:00:00"):
            text = text[:10]  # a date cell read back from Excel
        values[column.name] = split_list(text) if column.type == "list" else text
    return values
