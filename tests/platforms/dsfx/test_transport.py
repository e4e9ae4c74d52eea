"""DSFX transports against a real SFTP server, real FTP(S) servers and local folders."""

from __future__ import annotations

import os
import socket
import traceback
from pathlib import Path

import pytest

from dropstream.platforms.dsfx import transport as tr
from dropstream.platforms.dsfx.transport import IN, OUT, open_transport
from dropstream.platforms.errors import (
    BadResponse,
    CredentialsRejected,
    HostKeyMismatch,
    RemoteNotFound,
    RemoteUnavailable,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def all_text(exc: BaseException) -> str:
    """Message, repr and the whole chained traceback: where a password could hide."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


# -- SFTP: host keys, logins, one connection ---------------------------------------------------


def test_sftp_trusts_the_first_host_key_reports_it_once_and_reuses_one_connection(sftp_server):
    pinned: list[str] = []
    transport = open_transport(sftp_server.connection_string, on_new_host_key=pinned.append)

    transport.write(IN, "ord_1_240101000000.csv", b"x")
    names = [f.name for f in transport.list(IN).files]
    assert transport.read(IN, "ord_1_240101000000.csv") == b"x"
    transport.close()

    assert names == ["ord_1_240101000000.csv"]
    assert pinned == [sftp_server.host_key_text]
    assert tr.fingerprint(pinned[0]) == sftp_server.host_key_fingerprint
    assert sftp_server.login_attempts == 1


def test_a_pinned_host_key_is_accepted_without_asking_again(sftp_server):
    asked: list[str] = []
    transport = open_transport(sftp_server.connection_string, host_key=sftp_server.host_key_text,
                               on_new_host_key=asked.append)

    assert transport.exists(OUT)
    assert asked == []


def test_a_changed_host_key_is_refused_before_the_password_is_sent(sftp_server):
    old_key = sftp_server.host_key_text
    sftp_server.restart(new_host_key=True)
    asked: list[str] = []
    transport = open_transport(sftp_server.connection_string, host_key=old_key,
                               on_new_host_key=asked.append, backoff=0)

    with pytest.raises(HostKeyMismatch) as caught:
        transport.write(IN, "ord_1_240101000000.csv", b"x")

    error = caught.value
    assert error.expected == tr.fingerprint(old_key)
    assert error.presented == sftp_server.host_key_fingerprint != error.expected
    assert error.presented_key == sftp_server.host_key_text
    assert error.host == "127.0.0.1"
    assert "accept the new fingerprint" in error.message
    assert sftp_server.login_attempts == 0
    assert asked == []
    assert list((sftp_server.root / "in").iterdir()) == []


def test_a_wrong_password_gives_a_plain_message_without_the_password(sftp_server):
    wrong = sftp_server.connection_string.replace("pw", "Pw", 1)
    meter: list = []
    transport = open_transport(wrong, meter=meter.append, backoff=0)

    with pytest.raises(CredentialsRejected) as caught:
        transport.list(OUT)

    port = sftp_server.port
    assert caught.value.message == f"sftp://wh1@127.0.0.1:{port} rejected the user name or password"
    assert sftp_server.password not in all_text(caught.value)
    assert "SeCrEtZ" not in all_text(caught.value) + repr(transport) + repr(meter)
    assert sftp_server.login_attempts == 1  # a bad login is not retried
    assert [(m.method, m.endpoint, m.attempt, m.error) for m in meter] == [
        ("SFTP", "LIST /out", 1, "CredentialsRejected")]


def test_a_closed_port_gives_a_plain_message_after_the_retries():
    meter: list = []
    port = free_port()
    transport = open_transport(f"sftp://wh1:pw@127.0.0.1:{port}", meter=meter.append,
                               retries=2, backoff=0)

    with pytest.raises(RemoteUnavailable) as caught:
        transport.list(IN)

    assert caught.value.message == (f"sftp://wh1@127.0.0.1:{port} refused the connection: "
                                    "check the host and port")
    assert [(m.attempt, m.status) for m in meter] == [(1, None), (2, None), (3, None)]


def test_a_server_that_is_not_sftp_is_named_plainly():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        transport = open_transport(f"sftp://wh1:pw@127.0.0.1:{port}", timeout=0.5, retries=0)

        with pytest.raises(RemoteUnavailable) as caught:
            transport.list(IN)

    assert f"127.0.0.1:{port}" in caught.value.message


def test_a_missing_folder_is_reported_by_name(sftp_server):
    (sftp_server.root / "out").rmdir()
    transport = open_transport(sftp_server.connection_string)

    with pytest.raises(RemoteNotFound) as caught:
        transport.list(OUT)

    assert caught.value.message == f"/out does not exist on sftp://wh1@127.0.0.1:{sftp_server.port}"
    assert transport.exists(IN) and not transport.exists(OUT)


# -- names from the server are never paths ----------------------------------------------------


def test_hostile_names_listed_by_an_sftp_server_are_skipped_and_reported(sftp_server, tmp_path):
    sftp_server.hostile_names = ["../../escape.csv", "shp_a/../../b.csv", "..", "shp_\x1b[2J.csv",
                                 "shp_caf\udce9.csv"]
    (sftp_server.root / "out" / "shp_ok.csv").write_bytes(b"ok")
    transport = open_transport(sftp_server.connection_string)

    listing = transport.list(OUT)

    assert [f.name for f in listing.files] == ["shp_ok.csv"]
    assert [name for name, _ in listing.rejected] == ["../../escape.csv", "shp_a/../../b.csv",
                                                      "shp_\x1b[2J.csv", "shp_caf\udce9.csv"]
    assert dict(listing.rejected)["shp_caf\udce9.csv"] == "the name is not UTF-8"
    assert dict(listing.rejected)["shp_\x1b[2J.csv"] == ("the name contains the control "
                                                          "character U+001B")


def test_local_listing_refuses_links_and_odd_names_and_paths_cannot_be_used(tmp_path: Path):
    root = tmp_path / "wh"
    (root / "out").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the hub")
    (root / "out" / "shp_link.csv").symlink_to(secret)
    (root / "out" / "shp_a\\..\\..\\b.csv").write_text("x")
    (root / "out" / "shp_new\nline.csv").write_text("x")
    (root / "out" / "shp_fine.csv").write_text("x")
    transport = open_transport(f"file://{root}")

    listing = transport.list(OUT)

    assert [f.name for f in listing.files] == ["shp_fine.csv"]
    assert sorted(reason for _, reason in listing.rejected) == [
        "the entry is a symbolic link", "the name contains a path separator",
        "the name contains the control character U+000A"]
    for bad in ("../secret.txt", "..", "a/b", "x\x00y"):
        with pytest.raises(tr.UnsafeName):
            transport.read(OUT, bad)
        with pytest.raises(tr.UnsafeName):
            transport.write(OUT, bad, b"x")
    with pytest.raises(ValueError, match="not a DSFX folder"):
        transport.read("/etc", "passwd")
    assert secret.read_text() == "not for the hub"


def test_only_the_hubs_own_files_can_be_deleted(tmp_path: Path):
    root = tmp_path / "wh"
    (root / "out").mkdir(parents=True)
    (root / "out" / "shp_1.csv").write_text("x")
    transport = open_transport(f"file://{root}")

    with pytest.raises(ValueError, match="not a file the hub made"):
        transport.remove_own(OUT, "shp_1.csv")

    assert (root / "out" / "shp_1.csv").exists()


# -- safe transfer --------------------------------------------------------------------------


def test_writes_never_overwrite_and_leave_no_temporary_file(tmp_path: Path):
    root = tmp_path / "wh"
    (root / "in").mkdir(parents=True)
    transport = open_transport(f"file://{root}")

    transport.write(IN, "ord_1.csv", b"first")
    with pytest.raises(tr.TargetExists):
        transport.write(IN, "ord_1.csv", b"second")

    assert sorted(p.name for p in (root / "in").iterdir()) == ["ord_1.csv"]
    assert (root / "in" / "ord_1.csv").read_bytes() == b"first"


class LostReplyTransport(tr.LocalTransport):
    """Renames, then loses the reply once: what a dropped connection does to a real client."""

    lost = 0

    def _rename(self, source: str, target: str) -> None:
        super()._rename(source, target)
        if self.lost == 0:
            self.lost += 1
            raise ConnectionResetError("reply lost")


def test_a_lost_rename_reply_is_resolved_by_checking_which_name_exists(tmp_path: Path):
    root = tmp_path / "wh"
    (root / "in").mkdir(parents=True)
    meter: list = []
    transport = LostReplyTransport(tr.parse_connection_string(f"file://{root}"), backoff=0,
                                   meter=meter.append)

    transport.write(IN, "ord_1.csv", b"data")

    assert sorted(p.name for p in (root / "in").iterdir()) == ["ord_1.csv"]
    assert [(m.endpoint, m.attempt, m.error) for m in meter if m.endpoint.startswith("RENAME")] \
        == [("RENAME /in/:file", 1, "RemoteUnavailable"), ("RENAME /in/:file", 2, "")]


def test_the_sftp_upload_goes_through_a_part_name(sftp_server):
    seen: list[list[str]] = []

    class Watching(tr.SftpTransport):
        def _rename(self, source: str, target: str) -> None:
            seen.append(sorted(os.listdir(sftp_server.root / "in")))
            super()._rename(source, target)

    transport = Watching(tr.parse_connection_string(sftp_server.connection_string))
    transport.write(IN, "ord_9_240101000000.csv", b"data")

    assert seen == [[".ord_9_240101000000.csv.part"]]
    assert os.listdir(sftp_server.root / "in") == ["ord_9_240101000000.csv"]


# -- connection strings ----------------------------------------------------------------------


def test_percent_encoded_passwords_are_decoded_and_never_shown(sftp_server):
    assert "@" in sftp_server.password and "%40" in sftp_server.connection_string
    transport = open_transport(sftp_server.connection_string)

    assert transport.exists(IN)
    assert sftp_server.password not in repr(transport) + repr(transport.endpoint)
    assert repr(transport) == f"<SftpTransport sftp://wh1@127.0.0.1:{sftp_server.port}>"


@pytest.mark.parametrize("value", ["http://x", "file://host/path", "sftp://:pw@/x",
                                   "sftp://u:p@h:99999"])
def test_a_malformed_connection_string_is_a_plain_error(value):
    with pytest.raises(BadResponse) as caught:
        open_transport(value)

    assert "connection string" in caught.value.message


# -- FTP and FTPS ----------------------------------------------------------------------------


def test_ftp_lists_reads_writes_and_renames(ftp_server):
    transport = open_transport(ftp_server.connection_string, backoff=0)
    (ftp_server.root / "out" / "shp_1.csv").write_bytes(b"a,b\r\n")
    (ftp_server.root / "out" / "shp_café.csv").write_bytes(b"ok")

    transport.write(IN, "ord_1_240101000000.csv", "Crème".encode())
    listing = transport.list(OUT)
    data = transport.read(OUT, "shp_1.csv")
    accented = transport.read(OUT, "shp_café.csv")
    transport.mkdir("/out/processed")
    transport.rename(OUT, "shp_1.csv", "/out/processed", "shp_1.csv")
    transport.close()

    assert (ftp_server.root / "in" / "ord_1_240101000000.csv").read_bytes() == "Crème".encode()
    assert sorted((f.name, f.size) for f in listing.files) == [("shp_1.csv", 5),
                                                               ("shp_café.csv", 2)]
    assert accented == b"ok"
    assert data == b"a,b\r\n"
    assert (ftp_server.root / "out" / "processed" / "shp_1.csv").exists()
    assert not (ftp_server.root / "out" / "shp_1.csv").exists()


def test_a_wrong_ftp_password_gives_a_plain_message_without_the_password(ftp_server):
    wrong = ftp_server.connection_string.replace("ftpSeCrEtZ", "ftpSeCrEtZx", 1)
    transport = open_transport(wrong, backoff=0)

    with pytest.raises(CredentialsRejected) as caught:
        transport.list(IN)

    assert caught.value.message == (f"ftp://wh1@127.0.0.1:{ftp_server.port} rejected the user "
                                    "name or password")
    assert "SeCrEtZ" not in all_text(caught.value)


def test_ftps_works_with_a_verified_certificate_and_refuses_an_unknown_one(ftps_server):
    trusted = open_transport(ftps_server.connection_string, tls_context=ftps_server.client_tls)
    trusted.write(IN, "ord_1_240101000000.csv", b"tls")
    untrusted = open_transport(ftps_server.connection_string, retries=0)

    with pytest.raises(RemoteUnavailable) as caught:
        untrusted.list(IN)

    assert (ftps_server.root / "in" / "ord_1_240101000000.csv").read_bytes() == b"tls"
    assert "TLS" in caught.value.message
