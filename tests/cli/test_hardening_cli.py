"""Times and numbers at the command line (issue 14, items 1 and 3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nrmc.core.inputs import today_beijing
from tests.cli_runner import run, run_json


def _accepted() -> str:
    first = run_json("referrals", "create", "--from", "NRMC-P031", "--to", "NRMC-O005",
                     "--specialty", "oncology", "--diagnosis", "C34.9")
    rid = str(first["id"])
    run_json("referrals", "accept", rid, "--version", "1")
    return rid


def test_an_appointment_typed_without_offset_is_beijing_time_and_shown_with_it(nrmc_env):
    rid = _accepted()
    day = (today_beijing() + timedelta(days=2)).isoformat()
    shown = run_json("referrals", "schedule", rid, "--version", "2", "--when", f"{day}T10:30")
    assert shown["scheduled_for"] == f"{day}T10:30:00+08:00"
    csv_out = run("referrals", "show", rid, "--format", "csv").stdout
    assert f"{day}T10:30:00+08:00" in csv_out


def test_an_appointment_before_the_acceptance_is_a_clean_bilingual_error(nrmc_env):
    rid = _accepted()
    result = run("referrals", "schedule", rid, "--version", "2", "--when", "2025-03-02T10:30")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "scheduled_for" in result.output and "预约时间不能早于接收时间" in result.output


@pytest.mark.parametrize("when", ["2099-01-01T09:00", "1900-01-01T09:00+08:00"])
def test_an_appointment_in_2099_or_1900_is_refused(nrmc_env, when):
    rid = _accepted()
    result = run("referrals", "schedule", rid, "--version", "2", "--when", when)
    assert result.exit_code == 2 and "--when: date must not be" in result.output


@pytest.mark.parametrize("admissions", ["99999999999999999999", "nan", "inf", "1e400"])
def test_bed_sizing_with_an_absurd_number_is_a_clean_error(admissions):
    result = run("plan", "beds", "--admissions-per-year", admissions, "--mean-los", "5",
                 "--target-block", "0.01")
    assert result.exit_code != 0
    assert "admissions_per_year" in result.output and "Traceback" not in result.output
