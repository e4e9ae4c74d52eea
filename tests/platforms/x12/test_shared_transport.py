"""The shared file transport's two generic knobs the X12 platform needs: the platform its meter
rows are billed to, and the server's own names for /in and /out."""

from __future__ import annotations

from dropstream.platforms.transport import IN, IN_PROCESSED, OUT, open_transport


def test_folder_names_map_in_and_out_to_the_servers_names_and_rows_name_the_platform(tmp_path):
    for folder in ("to-wh", "to-wh/processed", "from-wh"):
        (tmp_path / folder).mkdir(parents=True)
    calls = []
    transport = open_transport(f"file://{tmp_path}", meter=calls.append, platform="x12",
                               folder_names={"in": "to-wh", "out": "from-wh"})
    transport.write(IN, "940_a.edi", b"ISA")
    transport.rename(IN, "940_a.edi", IN_PROCESSED, "940_a.edi")
    (tmp_path / "from-wh" / "945_b.edi").write_bytes(b"ISA")

    assert (tmp_path / "to-wh" / "processed" / "940_a.edi").read_bytes() == b"ISA"
    assert [f.name for f in transport.list(OUT).files] == ["945_b.edi"]
    assert {call.platform for call in calls} == {"x12"}


def test_without_folder_names_the_folders_are_in_and_out(tmp_path):
    (tmp_path / "in").mkdir()
    transport = open_transport(f"file://{tmp_path}")
    transport.write(IN, "x.edi", b"1")
    assert (tmp_path / "in" / "x.edi").exists()
