"""Mapping files: custom fields, code maps, options, and precise errors for bad files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from domain_records import CONTEXT, patient

from chronobridge.domain.mappings import TRANSFORMS, apply, default_text, load_mapping
from chronobridge.errors import ConfigError, MappingError, MappingFileInvalid


def load(body: str) -> object:
    return load_mapping(textwrap.dedent(body), origin="practice.yaml")


CUSTOM = """\
version: 7
models:
  patient:
    source: patients
    fields:
      last_name: last_name
      nick: {from: nick_name, transform: null_if_blank, default: none given}
      tier: {from: patient_status, codes: {A: gold}, unknown: keep}
      dropped: {from: patient_status, codes: {A: kept}, unknown: "null"}
      source_system: {default: drchrono}
    custom_fields:
      - {name: favourite_colour, from: "custom_demographics[?field_type==`11`].value | [0]"}
      - name: referral
        from: "custom_demographics[?field_type==`12`].value | [0]"
        transform: upper
      - {name: demographic_count, from: "length(custom_demographics)"}
      - {name: missing, from: "custom_demographics[?field_type==`99`].value | [0]"}
"""


def test_custom_fields_read_anything_with_jmespath() -> None:
    row = apply(load_mapping(CUSTOM), "patients", patient(), CONTEXT)
    assert row.custom == {
        "favourite_colour": "blue", "referral": "NEWSPAPER", "demographic_count": 2,
        "missing": None,
    }  # fmt: skip
    assert row.mapping_version == 7


def test_defaults_constants_and_unknown_code_policies() -> None:
    mapping = load_mapping(CUSTOM)
    row = apply(mapping, "patients", patient(), CONTEXT)
    assert row.values["nick"] == "none given"
    assert row.values["source_system"] == "drchrono"
    assert (row.values["tier"], row.values["dropped"]) == ("gold", "kept")
    other = apply(mapping, "patients", patient(patient_status="I"), CONTEXT)
    assert (other.values["tier"], other.values["dropped"]) == ("I", None)


def test_a_failing_jmespath_expression_names_the_custom_field() -> None:
    mapping = load_mapping(CUSTOM)
    with pytest.raises(MappingError) as caught:
        apply(mapping, "patients", patient(custom_demographics=5), CONTEXT)
    assert (caught.value.field, caught.value.rule) == ("demographic_count", "from")


def test_include_all_is_a_passthrough_model_for_any_resource() -> None:
    mapping = load_mapping(
        "version: 1\nmodels:\n  task:\n    source: tasks\n    include_all: true\n"
        "    fields:\n      task_title: {from: title, transform: upper}\n"
    )
    row = apply(mapping, "tasks", {"id": 5, "title": "call back", "priority": "30"}, CONTEXT)
    assert row.values == {"id": 5, "priority": "30", "task_title": "CALL BACK"}
    assert row.external_id == "5"


def test_required_fields_and_wrong_types_are_mapping_errors() -> None:
    mapping = load_mapping(
        "version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
        "      last: {from: last_name, required: true}\n"
        "      doctor: {from: doctor, transform: int}\n"
    )
    with pytest.raises(MappingError, match=r"patient.last: a value is required \(rule: required\)"):
        apply(mapping, "patients", patient(last_name=""), CONTEXT)
    with pytest.raises(
        MappingError, match=r"patient.doctor: expected a whole number \(rule: int\)"
    ):
        apply(mapping, "patients", patient(doctor="Dr. Secret"), CONTEXT)


def test_the_digest_changes_with_the_content_not_only_the_version() -> None:
    a = load_mapping(CUSTOM)
    b = load_mapping(CUSTOM.replace("gold", "silver"))
    assert a.version == b.version
    assert a.digest != b.digest


def test_the_default_file_is_shipped_and_loads() -> None:
    assert "version: 1" in default_text()
    assert load_mapping(default_text()).spec.models[0].name == "patient"


def test_every_transform_is_documented() -> None:
    assert all(t.doc for t in TRANSFORMS.values())
    guide = (Path(__file__).resolve().parents[3] / "docs" / "mappings.md").read_text()
    assert all(f"`{name}`" in guide for name in TRANSFORMS)
    assert {"e164", "date", "datetime_local_to_utc", "end_time_from_duration"} <= set(TRANSFORMS)


BAD = [
    ("version: 1\nmodels: {}\n", 2, "models", "at least one model"),
    ("models:\n  p: {source: patients, fields: {a: id}}\n", 1, "version", "`version` must be"),
    ("version: two\nmodels: {}\n", 1, "version", "whole number"),
    ("version: 1\nmodel:\n  p: {}\n", 2, "the file",
     "unknown key 'model' (did you mean 'models'?)"),
    ("version: 1\nmodels:\n  patient:\n    source: patiens\n    fields: {a: id}\n", 4,
     "models.patient.source", "unknown DrChrono resource 'patiens' (did you mean 'patients'?)"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n      a: id\n"
     "      first: frist_name\n", 7, "models.patient.fields.first.from",
     "'frist_name' is not a field of patients (did you mean 'first_name'?)"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      phone: {from: home_phone, transform: e165}\n", 6,
     "models.patient.fields.phone.transform", "unknown transform 'e165' (did you mean 'e164'?)"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      phone:\n        from: home_phone\n"
     "        transform: {name: e164, on_invalid: ignore}\n",
     8, "models.patient.fields.phone.transform.e164", "on_invalid is one of error, keep, null"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      phone: {from: home_phone, transform: {name: e164, regoin: GB}}\n", 6,
     "models.patient.fields.phone.transform.e164", "e164 takes no argument 'regoin'"),
    ("version: 1\nmodels:\n  appt:\n    source: appointments\n    fields:\n"
     "      end: {from: duration, transform: end_time_from_duration}\n"
     "      start_time: {from: scheduled_time, transform: datetime_local_to_utc}\n", 6,
     "models.appt.fields.end.transform",
     "reads target field 'start_time', which must be mapped before it"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      g: {from: gender, codes: {Male: M}, unknown: drop}\n", 6,
     "models.patient.fields.g.unknown", "one of error, keep, null"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      g: {from: gender, codez: {Male: M}}\n", 6, "models.patient.fields.g",
     "unknown key 'codez' (did you mean 'codes'?)"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      g: {from: gender, codes: {Male: [M]}}\n", 6, "models.patient.fields.g.codes",
     "code 'Male' must map to a single value"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      x: {from: \"custom_demographics[?field_type==\"}\n", 6,
     "models.patient.fields.x.from", "not a valid JMESPath expression"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      Address: address\n", 6, "models.patient.fields.Address", "lower-case names"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n      a: id\n"
     "      a: id\n", 7, "", "duplicate key 'a'"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n      a: id\n"
     "    custom_fields:\n      - {name: a, from: id}\n", 8, "models.patient.custom_fields[0]",
     "custom field 'a' is already a field of this model"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      a: {required: yes}\n", 6, "models.patient.fields.a", "needs `from`"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
     "      a: {from: id, required: maybe}\n", 6, "models.patient.fields.a",
     "`required` must be true or false"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n", 3, "models.patient",
     "needs `fields`"),
    ("version: 1\nmodels:\n  patient: [1, 2]\n", 3, "models.patient", "expected a mapping"),
    ("version: 1\nmodels:\n  patient:\n    source: patients\n    fields: {a: [id\n", 6, "",
     "not valid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "where", "reason"), BAD)
def test_bad_files_are_rejected_with_the_line_the_place_and_the_fix(
    text: str, line: int, where: str, reason: str
) -> None:
    with pytest.raises(MappingFileInvalid) as caught:
        load_mapping(text, origin="practice.yaml")
    error = caught.value
    assert isinstance(error, ConfigError)
    assert error.line == line, str(error)
    assert error.where == where, str(error)
    assert reason in error.reason, str(error)
    prefix = f"practice.yaml, line {line}: " if line else "practice.yaml: "
    assert str(error).startswith(prefix)


def test_check_false_allows_fields_missing_from_drchronos_schema() -> None:
    mapping = load_mapping(
        "version: 1\nmodels:\n  patient:\n    source: patients\n    fields:\n"
        "      line2: {from: apartment, check: false}\n"
    )
    assert apply(mapping, "patients", patient(apartment="4B"), CONTEXT).values["line2"] == "4B"
