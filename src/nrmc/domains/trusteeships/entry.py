"""A trusteeship as staff type it: the fields with their bilingual labels, shared by the page
form, the Excel template, the upload reader and the CLI, and the one parser that turns typed
text into `TrusteeshipIn` or field errors.

Hospitals may be typed as a code, a full name or pinyin initials; they are resolved as the
referral form's picker resolves them (a code names any hospital; a name or initials must match
exactly one hospital the caller may pick). Whether the caller may name them is the service's
rule (`service.problems`), checked when the trusteeship is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.orm import Session

from ...core.inputs import FieldError, explain
from ..referrals import service as referrals
from ..users.scope import Scope
from ..users.service import Refused
from .schemas import Grade, TrusteeshipIn


@dataclass(frozen=True)
class Field:
    name: str  # the API field name, also the form field and the sheet column
    label: str  # 中文 English
    required: bool = False
    example: str = ""
    hint: str = ""

    @property
    def header(self) -> str:
        """The template's column header: label, then the field name in brackets."""
        return f"{self.label} [{self.name}]"


HOSPITAL_HINT = "代码、全称或拼音首字母 code, full name or pinyin initials"
GRADE_HINT = "、".join(g.label_zh for g in Grade) + " (or " + ", ".join(g.value for g in Grade) + ")"
FIELDS: tuple[Field, ...] = (
    Field("managed_hospital_code", "被托管医院 Managed hospital", True, "金塔县人民医院", HOSPITAL_HINT),
    Field("managing_hospital_code", "托管医院 Managing hospital", True, "酒泉市人民医院", HOSPITAL_HINT),
    Field("start_date", "起始日期 Start date", True, "2024-01-01", "YYYY-MM-DD"),
    Field("term_years", "托管期限（年） Term (years)", True, "5", "1–30"),
    Field("separated", "管办分离 Management separated", False, "是", "是/否 yes/no; 默认 default 是"),
    Field("start_grade", "起始等级 Start grade", True, "二级乙等", GRADE_HINT),
    Field("target_grade", "目标等级 Target grade", True, "三级乙等", GRADE_HINT),
    Field("goal_deadline", "目标期限 Goal deadline", True, "2029-01-01",
          "YYYY-MM-DD, 晚于起始日期 after the start date"),
    Field("posts_planned", "计划派驻岗位 Posts planned", False, "10"),
    Field("departments_planned", "计划开设科室 Departments planned", False, "4"),
    Field("project_id", "项目编号 Project id", False, "", "可不填 optional"),
    Field("note", "备注 Note", False, ""),
)
NAMES = tuple(f.name for f in FIELDS)
REQUIRED = tuple(f.name for f in FIELDS if f.required)
HOSPITALS = ("managed_hospital_code", "managing_hospital_code")
DATES = ("start_date", "goal_deadline")


def typed_values(raw: Mapping[str, object]) -> dict[str, str]:
    """The known fields as text, trimmed, bounded (what a refused form shows back)."""
    return {name: str(raw.get(name) or "").strip()[:4000] for name in NAMES}


def parse(*, session: Session, scope: Scope, raw: Mapping[str, object]
          ) -> tuple[TrusteeshipIn | None, list[FieldError]]:
    """Typed text → the input schema, or every field's error (one per field, the hospital's
    own first). Blank optional fields take the schema default."""
    values: dict[str, object] = {k: v for k, v in typed_values(raw).items() if v}
    for name in DATES:  # a date cell read back from Excel
        text = values.get(name)
        if isinstance(text, str) and text.endswith(" 00:00:00"):
            values[name] = text[:10]
    errors: dict[str, FieldError] = {}
    for name in HOSPITALS:
        if name in values:
            try:
                values[name] = referrals.resolve_target(session, scope, str(values[name]),
                                                        field=name).code
            except Refused as exc:
                errors.update({p.field: p for p in exc.problems})
    try:
        data = TrusteeshipIn.model_validate(values)
    except ValidationError as exc:
        for error in explain(exc):
            errors.setdefault(error.field, error)
        return None, list(errors.values())
    return (None, list(errors.values())) if errors else (data, [])
