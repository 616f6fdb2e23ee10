"""The YAML loader: strict, safe, bounded, and keeping positions."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import pytest

from flowengine.loader import MAX_FILE_BYTES, YamlLoadError, load_file, load_text


def error_of(text: str) -> str:
    with pytest.raises(YamlLoadError) as caught:
        load_text(text, "f.yaml")
    return caught.value.issue.format()


class TestScalars:
    def test_yaml_1_2_booleans(self) -> None:
        """Only true/false are booleans: on, off, yes, no stay strings (the key `on:` too)."""
        doc = load_text("on: yes\noff: no\nt: true\nf: False\n", "f.yaml")
        assert doc.data == {"on": "yes", "off": "no", "t": True, "f": False}

    def test_numbers_and_null(self) -> None:
        """Integers, floats and null follow the core schema; quoted numbers stay text."""
        doc = load_text("a: 12\nb: 1.5\nc: ~\nd: '12'\ne: 0x1f\nf:\n", "f.yaml")
        assert doc.data == {"a": 12, "b": 1.5, "c": None, "d": "12", "e": 31, "f": None}

    def test_turkish_text_is_normalised_to_nfc(self) -> None:
        """A title typed with combining marks (NFD) compares equal to the composed one."""
        decomposed = unicodedata.normalize("NFD", "Değerlendirme İşlemi")
        doc = load_text(f"title: {decomposed}\n", "f.yaml")
        assert doc.data["title"] == "Değerlendirme İşlemi"
        assert unicodedata.is_normalized("NFC", doc.data["title"])


class TestPositions:
    def test_values_and_keys_keep_line_and_column(self) -> None:
        """Every node remembers where it stands so errors can point at it."""
        doc = load_text("a:\n  b:\n    - x\n    - {c: 1}\n", "f.yaml")
        assert doc.position(("a", "b", 1, "c")).line == 4
        assert doc.position(("a", "b"), key=True).line == 2
        assert doc.position(("a", "b"), key=True).column == 3


class TestRefusals:
    def test_duplicate_keys_name_both_lines(self) -> None:
        """A repeated key is an error naming the first line too."""
        assert error_of("a: 1\nb: 2\na: 3\n") == (
            "f.yaml:3:1: error: duplicate key 'a' (first defined on line 1)"
        )

    def test_python_tags_are_refused(self) -> None:
        """`!!python/object` never constructs anything: it is an error."""
        message = error_of("a: !!python/object/apply:os.system ['echo hi']\n")
        assert "YAML tags (tag:yaml.org,2002:python/object/apply:os.system) are not allowed" in (
            message
        )

    def test_billion_laughs_is_refused_quickly(self) -> None:
        """Aliases are refused at the first one, before any expansion."""
        lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for i, name in enumerate("bcdefghi"):
            prev = "abcdefghi"[i]
            lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        started = time.perf_counter()
        message = error_of("\n".join(lines) + "\n")
        assert (
            message == "f.yaml:2:8: error: YAML aliases (*a) are not allowed; write the value out"
        )
        assert time.perf_counter() - started < 5

    def test_merge_keys_are_refused(self) -> None:
        """`<<` merges are refused with a hint to write keys out."""
        assert error_of("a: {x: 1}\nb:\n  <<: {x: 1}\n") == (
            "f.yaml:3:3: error: YAML merge keys (<<) are not allowed; write the keys out"
        )

    def test_deep_nesting_is_bounded(self) -> None:
        """2,000 nested levels give a clear error, not a RecursionError."""
        text = "a:\n" + "".join("  " * i + "k:\n" for i in range(1, 2000))
        assert "nesting deeper than 64 levels" in error_of(text)

    def test_deep_flow_nesting_is_bounded(self) -> None:
        """Deep `[[[…]]]` flow nesting is also refused with a position."""
        assert "nesting" in error_of("a: " + "[" * 2000 + "]" * 2000 + "\n")

    def test_multiple_documents_are_refused(self) -> None:
        """One document per file."""
        assert "only one YAML document per file" in error_of("a: 1\n---\nb: 2\n")

    def test_syntax_error_has_position(self) -> None:
        """A syntax error names line and column."""
        assert error_of("a: [1, 2\nb: 3\n").startswith("f.yaml:2:")

    def test_control_characters_are_refused(self) -> None:
        """A control character is named by its code point and position."""
        assert error_of("a: x\x07y\n") == (
            "f.yaml:1:5: error: character U+0007 is not allowed in YAML; remove it"
        )


class TestFiles:
    def test_large_file_is_refused_before_reading(self, tmp_path: Path) -> None:
        """A 10 MB file is refused by its size, quickly."""
        big = tmp_path / "big.yaml"
        big.write_bytes(b"a: " + b"x" * (10 * 1024 * 1024) + b"\n")
        started = time.perf_counter()
        with pytest.raises(YamlLoadError) as caught:
            load_file(big)
        assert f"over the limit of {MAX_FILE_BYTES:,}" in caught.value.issue.message
        assert time.perf_counter() - started < 5

    def test_invalid_utf8_names_the_line(self, tmp_path: Path) -> None:
        """Latin-5 bytes are reported with line and column and a fix."""
        path = tmp_path / "latin5.yaml"
        path.write_bytes(b"a: 1\ntitle: De" + "ğ".encode("iso-8859-9") + b"er\n")
        with pytest.raises(YamlLoadError) as caught:
            load_file(path, display="latin5.yaml")
        assert caught.value.issue.format() == (
            "latin5.yaml:2:10: error: invalid UTF-8 byte 0xf0; save the file as UTF-8"
        )

    def test_utf8_bom_is_tolerated_with_a_warning(self, tmp_path: Path) -> None:
        """A UTF-8 byte-order mark loads, with a warning to remove it."""
        path = tmp_path / "bom.yaml"
        path.write_bytes(b"\xef\xbb\xbftitle: Bizim Masa\n")
        doc = load_file(path)
        assert doc.data == {"title": "Bizim Masa"}
        assert [w.message for w in doc.warnings] == [
            "file starts with a UTF-8 byte-order mark; remove it"
        ]

    def test_utf16_is_refused(self, tmp_path: Path) -> None:
        """UTF-16 files are refused with the fix."""
        path = tmp_path / "u16.yaml"
        path.write_bytes("a: 1\n".encode("utf-16"))
        with pytest.raises(YamlLoadError) as caught:
            load_file(path)
        assert caught.value.issue.message == "file is UTF-16 encoded; save it as UTF-8"
