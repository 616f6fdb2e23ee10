"""Validation of the flow-language extensions (docs/flow-language.md)."""

from __future__ import annotations

from typing import ClassVar

from flowengine import schema
from flowengine.checks.base import CheckerBase
from flowengine.checks.walk import events_of, iter_scopes, unreplied_ends
from flowengine.errors import did_you_mean


class ExtensionChecks(CheckerBase):
    """The rules of flowengine's extensions to the flow language: Open311 intake,
    the desk's fields, statutory clocks and the reply obligation."""

    def check_open311(self, spec: schema.Open311Doc) -> None:
        """Open311 parameters land in declared fields; preset values fit them; the
        civic apps' role is one that may start the flow."""
        if spec.role is not None:
            self.check_role(("open311", "role"), spec.role)
            starters = self.doc.starters
            if starters is not None and spec.role not in starters:
                self.error(
                    ("open311", "role"),
                    f"role '{spec.role}' must be one of 'starters:' to submit requests",
                    "open311-role",
                )
        for parameter, name in spec.fields.items():
            self.check_field(("open311", "fields", parameter), name, f"open311 {parameter}")
        presets = [(("open311", "set"), spec.set_)] + [
            (("open311", "services", code, "set"), service.set_)
            for code, service in spec.services.items()
        ]
        for path, values in presets:
            for name, value in values.items():
                self.check_field_key((*path, name), name, "open311 sets")
                problem = self.literal_problem(name, value)
                if problem:
                    self.error((*path, name), f"value for '{name}' {problem}", "set-value")

    # what each `desk:` key may name: the receipt and report print text, count
    # enum values, and read directorates by the organisation's ids
    DESK_TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "applicant": ("string", "text"),
        "phone": ("string",),
        "channel": ("enum",),
        "kind": ("enum",),
        "subject": ("string", "text"),
        "place": ("string", "text", "enum"),
        "directorate": ("string", "enum"),
    }

    def check_desk(self, spec: schema.DeskDoc) -> None:
        """Every field the desk reads is declared and of a type the desk can print or count."""
        for key, kinds in self.DESK_TYPES.items():
            name = getattr(spec, key)
            if name is None:
                continue
            field = self.fields.get(name)
            if field is None:
                self.check_field(("desk", key), name, f"desk {key}")
            elif field.type not in kinds:
                self.error(
                    ("desk", key),
                    f"desk {key} '{name}' is of type {field.type}; it must be "
                    + " or ".join(kinds),
                    "desk-field",
                )
            elif key == "directorate" and not field.directorate:
                self.error(
                    ("desk", key),
                    f"desk directorate '{name}' must be marked 'directorate: true' "
                    "(its values are the organisation file's directorates)",
                    "desk-field",
                )
        for name, titles in spec.titles.items():
            field = self.fields.get(name)
            if field is None:
                self.check_field_key(("desk", "titles", name), name, "desk titles of")
                continue
            if field.type != "enum":
                self.error(
                    ("desk", "titles", name),
                    f"desk titles are for enum values; '{name}' is of type {field.type}",
                    "desk-field",
                    key=True,
                )
                continue
            for value in titles:
                if value not in (field.values or []):
                    hint = did_you_mean(value, field.values or [])
                    self.error(
                        ("desk", "titles", name, value),
                        f"'{value}' is not a value of '{name}'{hint}",
                        "desk-field",
                        key=True,
                    )

    def check_legal_bases(self) -> None:
        """`legal_basis` names an enum field whose every value is a declared basis."""
        doc = self.doc
        for name, basis in doc.legal_bases.items():
            self.check_id(("legal_bases", name), name, "legal basis")
            self.check_duration(("legal_bases", name, "limit"), basis.limit)
            if basis.extended_limit:
                self.check_duration(("legal_bases", name, "extended_limit"), basis.extended_limit)
        if doc.legal_basis is None:
            self.error(
                ("legal_bases",),
                "name the enum field that says which basis applies with 'legal_basis: FIELD'",
                "legal-basis",
                key=True,
            )
            return
        spec = self.fields.get(doc.legal_basis)
        if spec is None or spec.type != "enum":
            kind = "is not declared" if spec is None else f"is a {spec.type}, not an enum"
            self.error(("legal_basis",), f"field '{doc.legal_basis}' {kind}", "legal-basis")
            return
        if not spec.required and spec.default is None:
            self.warn(
                ("legal_basis",),
                f"field '{doc.legal_basis}' may be left empty, and a request without a legal "
                "basis gets no deadline; give it a default or make it required",
                "legal-basis-empty",
            )
        clocks_used = {
            event.clock
            for scope in iter_scopes(doc)
            for state in scope.states.values()
            for event in events_of(state).values()
            if event.clock
        }
        if "pause" in clocks_used and "resume" not in clocks_used:
            self.warn(
                ("legal_basis",),
                "an event pauses the legal clock but none resumes it (clock: resume); "
                "a paused request would keep no deadline until its final reply",
                "clock-no-resume",
            )
        unknown = [v for v in spec.values or [] if v not in doc.legal_bases]
        if unknown:
            self.error(
                ("data", doc.legal_basis, "values"),
                f"value(s) {', '.join(unknown)} of '{doc.legal_basis}' name no legal basis; "
                "declare them under 'legal_bases'",
                "legal-basis",
            )

    def check_replies(self) -> None:
        """Every path from the start to an end passes a final reply (Law 3071 art. 7)."""
        for end, path in unreplied_ends(self.doc.states, self.doc.start).items():
            self.error(
                ("states", end.split(".")[0]),
                f"end '{end}' can be reached without a final reply to the citizen "
                f"(Law 3071, art. 7): {' → '.join(path)}; mark the event that answers "
                "the citizen on that path with 'reply: final'",
                "citizen-reply",
                key=True,
            )
