#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz (corpus/<target>/). Rerun after a
format changes; libFuzzer grows its own corpus from these in build-fuzz/."""
import gzip
import io
import json
import os
import struct
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# 1. spec_decode: containerizer/launcher/README.md, "Spec format".
def rec(tag, payload=b""):
    if isinstance(payload, str):
        payload = payload.encode()
    return bytes([tag]) + struct.pack("<I", len(payload)) + payload


def spec(*records):
    return b"WSPEC1\n" + b"".join(records)


CLONE = {"mnt": 0x20000, "uts": 0x4000000, "ipc": 0x8000000, "pid": 0x20000000,
         "net": 0x40000000, "cgroup": 0x2000000}


def ns(kind, path=b""):
    return rec(4, struct.pack("<Q", CLONE[kind]) + (b"\1" + path if path else b"\0"))


def mount(src, dst, typ, opts=(), create_dir=True, create_file=False):
    p = rec(1, src) + rec(2, dst) + rec(3, typ) + b"".join(rec(4, o) for o in opts)
    if create_dir:
        p += rec(5)
    if create_file:
        p += rec(6)
    return rec(7, p)


out("spec_decode", "minimal", spec(rec(1, "/run/warren/c1"), rec(2, "/bin/true")))
out("spec_decode", "full", spec(
    rec(1, "/run/warren/pod"), rec(2, "/bin/sh"), rec(2, "-c"), rec(2, "echo hi"),
    rec(3, "PATH=/bin"), rec(3, "HOME=/"),
    ns("mnt"), ns("uts"), ns("ipc"), ns("pid"), ns("cgroup"), ns("net", b"/proc/123/ns/net"),
    rec(5, "/var/lib/warren/rootfs/pod"), rec(6),
    mount("proc", "/proc", "proc", ["nosuid", "noexec", "nodev"]),
    mount("/var/lib/warren/sandbox/pod/data", "/data", "bind", ["rbind", "ro"]),
    mount("/etc/hosts", "/etc/hosts", "bind", ["ro"], create_dir=False, create_file=True),
    rec(8, "/proc/kcore"), rec(9, "/proc/sys"),
    rec(10, "pod"), rec(11, "1000:1000"), rec(12, "/work"),
    rec(13, struct.pack("<I", 0)), rec(13, struct.pack("<I", 10)), rec(13, struct.pack("<I", 29)),
    rec(14, struct.pack("<IQQ", 7, 1024, 4096)),
    rec(15, rec(2, "/bin/mkdir") + rec(2, "-p") + rec(2, "/x"))))
out("spec_decode", "seccomp", spec(
    rec(1, "/run/warren/c1"), rec(2, "/bin/true"),
    # a two-instruction classic BPF program: ld [0]; ret ALLOW
    rec(16, struct.pack("<HBBI", 0x20, 0, 0, 0) + struct.pack("<HBBI", 0x06, 0, 0, 0x7fff0000))))
out("spec_decode", "io_relay_tty", spec(
    rec(1, "/run/warren/c1"), rec(2, "/bin/sh"),
    # relay | tty | stdin | hold, 30 x 100, 16 MiB log cap; sandbox root and dir
    rec(17, struct.pack("<BHHQ", 1 | 2 | 4 | 8, 30, 100, 16 << 20)),
    rec(18, "/var/lib/warren/sandboxes"), rec(19, "/var/lib/warren/sandboxes/c1")))
out("spec_decode", "nested_enter", spec(
    rec(1, "/run/warren/pod.web"), rec(2, "/bin/ps"),
    ns("mnt", b"/proc/9/ns/mnt"), ns("pid", b"/proc/9/ns/pid"), ns("net", b"/proc/9/ns/net")))

# 2. volume_spec: isolators/volumes/README.md.
for i, s in enumerate(["sandbox:data:/data", "parent:shared:/shared", "host:/srv/x:/x:ro",
                       "tmpfs:64m:/scratch", "tmpfs:1GiB:/t:rw", "TMPFS:4096:/a/b:RO",
                       "/srv, /data/x/ ,,"]):
    out("volume_spec", "seed%d" % i, s)

# 3. group_spec: README, "Task groups".
out("group_spec", "readme", json.dumps({
    "name": "web", "policy": "kill_group", "grace_period_ms": 3000,
    "members": [
        {"name": "app", "config": {"command": {"value": "/bin/app"},
                                   "resources": {"mem_bytes": "67108864"}}},
        {"name": "proxy", "config": {"command": {"value": "/bin/sh",
                                                 "arguments": ["-c", "exec proxy"]}}}]}, indent=1))
out("group_spec", "independent", json.dumps({
    "name": "batch", "policy": "INDEPENDENT",
    "members": [{"name": "a", "config": {"command": {"value": "/bin/true"}}}]}))

# 4. image_manifest: byte 0 picks the described media type
#    ("", oci manifest, oci index, docker manifest, docker list); then up to
#    three NUL-separated documents: top, the manifest an index points to, config.
D = "sha256:" + "ab" * 32
config = {"architecture": "amd64", "os": "linux",
          "config": {"Entrypoint": ["/bin/sh"], "Cmd": ["-c", "echo hi"], "Env": ["PATH=/bin"],
                     "WorkingDir": "/work", "User": "1000"},
          "rootfs": {"type": "layers", "diff_ids": [D]}}
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D, "size": 7},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D,
                        "size": 100},
                       {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": D, "size": 9}]}
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [{"mediaType": manifest["mediaType"], "digest": D, "size": 5,
                        "platform": {"os": "linux", "architecture": "arm64"}},
                       {"mediaType": manifest["mediaType"], "digest": D, "size": 5,
                        "platform": {"os": "linux", "architecture": "amd64"}}]}
docker = dict(manifest, mediaType="application/vnd.docker.distribution.manifest.v2+json")
docker["layers"] = [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                     "digest": D, "size": 3}]
J = lambda o: json.dumps(o).encode()
out("image_manifest", "oci_manifest", b"\1" + J(manifest) + b"\0\0" + J(config))
out("image_manifest", "oci_index", b"\2" + J(index) + b"\0" + J(manifest) + b"\0" + J(config))
out("image_manifest", "docker_manifest", b"\3" + J(docker) + b"\0\0" + J(config))
out("image_manifest", "sniffed_index", b"\0" + J({"manifests": index["manifests"]}) + b"\0" +
    J(manifest) + b"\0" + J(config))


# 5. layer_extract: layer tars, including the tricks extraction must refuse.
def tar(entries, compress=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.type = e.get("type", tarfile.REGTYPE)
            info.mode = e.get("mode", 0o644)
            info.linkname = e.get("link", "")
            data = e.get("data", b"")
            info.size = len(data) if info.type == tarfile.REGTYPE else 0
            if "xattrs" in e:
                info.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            t.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw


DIR, SYM, LNK, CHR = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE
base = [{"name": "bin", "type": DIR, "mode": 0o755},
        {"name": "bin/sh", "data": b"#!/bin/true\n", "mode": 0o755},
        {"name": "etc/hostname", "data": b"layer\n"},
        {"name": "bin/ash", "type": LNK, "link": "bin/sh"},
        {"name": "usr/bin/sh", "type": SYM, "link": "/bin/sh"}]
out("layer_extract", "plain.tar", tar(base))
out("layer_extract", "gzip.tar.gz", tar(base, compress=True))
out("layer_extract", "whiteouts.tar", tar(base + [
    {"name": "etc/.wh.hostname"}, {"name": "usr/.wh..wh..opq"}, {"name": "bin/.wh..wh.plnk"},
    {"name": "dev/null", "type": CHR}]))
out("layer_extract", "xattrs.tar", tar([
    {"name": "f", "data": b"x", "xattrs": {"user.k": "v", "trusted.overlay.opaque": "y"}}]))
out("layer_extract", "dotdot.tar", tar([{"name": "../outside/evil", "data": b"x"}]))
out("layer_extract", "absolute.tar", tar([{"name": "/outside/evil", "data": b"x"}]))
out("layer_extract", "symlink_escape.tar", tar([
    {"name": "up", "type": SYM, "link": "../outside"}, {"name": "up/decoy", "data": b"owned"}]))
out("layer_extract", "symlink_abs.tar", tar([
    {"name": "root", "type": SYM, "link": "/"}, {"name": "root/warren-fuzz-evil", "data": b"x"}]))
out("layer_extract", "hardlink_escape.tar", tar([
    {"name": "h", "type": LNK, "link": "../outside/decoy"}]))
out("layer_extract", "hardlink_via_symlink.tar", tar([
    {"name": "up", "type": SYM, "link": "../outside"},
    {"name": "h", "type": LNK, "link": "up/decoy"}]))
out("layer_extract", "whiteout_via_symlink.tar", tar([
    {"name": "up", "type": SYM, "link": "../outside"}, {"name": "up/.wh.decoy"}]))


# 6. api_request: byte 0 picks the mode (bit 7: a bare body, bit 6: protobuf)
#    and limits (bits 0-1 body, bit 2 header, bits 3-5 read splits); then the
#    bytes a client sends to warrend (tests/daemon's requests, one per call).
def http(body, content_type="application/json", extra="", keep=False):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    head = ("POST /api/v1 HTTP/1.1\r\nHost: warrend\r\nContent-Type: %s\r\n%sContent-Length: %d\r\n%s\r\n"
            % (content_type, "Accept: application/json\r\n", len(body),
               ("" if keep else "Connection: close\r\n") + extra))
    return head.encode() + body


def chunked(body, pieces=3, content_type="application/json", extra=""):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    step = max(1, len(body) // pieces)
    parts = [body[i:i + step] for i in range(0, len(body), step)]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    return ("POST /api/v1 HTTP/1.1\r\nContent-Type: %s\r\n%sTransfer-Encoding: chunked\r\n\r\n"
            % (content_type, extra)).encode() + chunks


def cid(*path):
    out_id = None
    for name in path:
        out_id = {"value": name, **({"parent": out_id} if out_id else {})}
    return out_id


def call(kind, field=None, msg=None):
    c = {"type": kind}
    if field:
        c[field] = msg
    return c


launch = call("LAUNCH_CONTAINER", "launch_container", {
    "container_id": cid("c1"), "command": {"value": "exit 3"},
    "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
                  {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}],
    "container": {"type": "MESOS", "hostname": "h1", "tty_info": {"window_size": {"rows": 24, "columns": 80}}},
    "warren": {"config": {"rootfs": "/srv/rootfs", "env": {"A": "1"}}, "agent_api": True}})
nested = call("LAUNCH_NESTED_CONTAINER", "launch_nested_container", {
    "container_id": cid("pod", "web"),
    "command": {"value": "/bin/echo", "shell": False, "arguments": ["echo", "hi"],
                "environment": {"variables": [{"name": "X", "value": "y"}]}, "user": "nobody"}})
session = call("LAUNCH_NESTED_CONTAINER_SESSION", "launch_nested_container_session", {
    "container_id": cid("pod", "dbg"), "command": {"value": "sh"},
    "container": {"type": "MESOS", "tty_info": {}}})
calls = {
    "launch": launch, "launch_nested": nested, "session": session,
    "wait": call("WAIT_CONTAINER", "wait_container", {"container_id": cid("c1")}),
    "wait_nested": call("WAIT_NESTED_CONTAINER", "wait_nested_container", {"container_id": cid("pod", "web")}),
    "kill": call("KILL_CONTAINER", "kill_container", {"container_id": cid("c1"), "signal": 15}),
    "kill_nested": call("KILL_NESTED_CONTAINER", "kill_nested_container", {"container_id": cid("pod", "web")}),
    "remove": call("REMOVE_CONTAINER", "remove_container", {"container_id": cid("c1")}),
    "remove_nested": call("REMOVE_NESTED_CONTAINER", "remove_nested_container",
                          {"container_id": cid("pod", "web")}),
    "get_containers": call("GET_CONTAINERS", "get_containers", {"show_nested": True}),
    "attach_output": call("ATTACH_CONTAINER_OUTPUT", "attach_container_output", {"container_id": cid("c1")}),
    "update": call("UPDATE_CONTAINER", "update_container",
                   {"container_id": cid("c1"), "limits": {"cpus": 1.5, "mem_bytes": "67108864"}}),
    "launch_group": call("LAUNCH_GROUP", "launch_group", {
        "parent": cid("pod"), "task_group": {"name": "g", "members": [
            {"name": "a", "config": {"command": {"value": "sleep 1"}}},
            {"name": "b", "config": {"command": {"value": "true"}}}]}}),
    "wait_group": call("WAIT_GROUP", "wait_group", {"parent": cid("pod"), "name": "g"}),
    "kill_group": call("KILL_GROUP", "kill_group", {"parent": cid("pod"), "name": "g", "signal": 9}),
}
for name, c in calls.items():
    out("api_request", "http_" + name, b"\0" + http(c))
    out("api_request", "json_" + name, b"\x80" + json.dumps(c).encode())
# Framing: chunked, keep-alive, Expect, limits, malformed.
out("api_request", "chunked_launch", b"\x08" + chunked(launch))
out("api_request", "keepalive_three", b"\x10" + http(calls["wait"], keep=True) +
    http(calls["get_containers"], keep=True) + http(calls["remove"]))
out("api_request", "expect_continue", b"\0" + http(calls["kill"], extra="Expect: 100-continue\r\n"))
out("api_request", "over_limit_16", b"\x01" + http(calls["wait"]))
out("api_request", "chunked_over_limit_300", b"\x02" + chunked(launch, pieces=8))
out("api_request", "header_limit_200", b"\x04" + http(calls["get_containers"], extra="X-Pad: " + "p" * 200 + "\r\n"))
out("api_request", "get_method", b"\0GET /api/v1 HTTP/1.1\r\nHost: x\r\n\r\n")
out("api_request", "bad_content_type", b"\0" + http(calls["get_containers"], content_type="text/plain"))
out("api_request", "bad_json", b"\0" + http('{"type": "GET_CONTAINERS",'))
out("api_request", "http10", b"\0POST /api/v1 HTTP/1.0\r\nContent-Length: 25\r\n\r\n{\"type\":\"GET_CONTAINERS\"}")


# ATTACH_CONTAINER_INPUT: RecordIO records ("<length>\n<bytes>") in chunks.
def records(*msgs):
    return b"".join(b"%d\n%s" % (len(m), m) for m in msgs)


def stream(body, content_type="application/json", chunk=True):
    head = ("POST /api/v1 HTTP/1.1\r\nContent-Type: application/recordio\r\nMessage-Content-Type: %s\r\n"
            % content_type)
    if not chunk:
        return (head + "Content-Length: %d\r\n\r\n" % len(body)).encode() + body
    step = 17
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + step]), body[i:i + step])
                      for i in range(0, len(body), step))
    return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks + b"0\r\n\r\n"


J = lambda o: json.dumps(o).encode()  # noqa: E731
first = J({"type": "ATTACH_CONTAINER_INPUT",
           "attach_container_input": {"type": "CONTAINER_ID", "container_id": cid("pod", "dbg")}})
data = J({"type": "ATTACH_CONTAINER_INPUT", "attach_container_input": {
    "type": "PROCESS_IO", "process_io": {"type": "DATA", "data": {"type": "STDIN", "data": "aGkK"}}}})
tty = J({"type": "ATTACH_CONTAINER_INPUT", "attach_container_input": {
    "type": "PROCESS_IO", "process_io": {"type": "CONTROL", "control": {
        "type": "TTY_INFO", "tty_info": {"window_size": {"rows": 40, "columns": 120}}}}}})
eof = J({"type": "ATTACH_CONTAINER_INPUT", "attach_container_input": {
    "type": "PROCESS_IO", "process_io": {"type": "DATA", "data": {"type": "STDIN", "data": ""}}}})
out("api_request", "input_stream", b"\0" + stream(records(first, data, tty, eof)))
out("api_request", "input_stream_length", b"\x18" + stream(records(first, data), chunk=False))


# Protobuf bodies, encoded by hand (no python protobuf needed).
def varint(n):
    b = b""
    while True:
        if n < 0x80:
            return b + bytes([n])
        b += bytes([(n & 0x7f) | 0x80])
        n >>= 7


def field(num, value):
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def pb_id(*path):
    enc = b""
    for name in path:
        enc = field(1, name) + (field(2, enc) if enc else b"")
    return enc


pb_launch = field(1, 22) + field(13, field(1, pb_id("c1")) + field(2, field(3, "sleep 600")))
pb_nested = field(1, 14) + field(6, field(1, pb_id("pod", "web")) + field(2, field(3, "true")))
pb_kill = field(1, 16) + field(8, field(1, pb_id("pod", "web")) + field(2, 15))
pb_get = field(1, 10) + field(20, field(1, 1))
for name, body in {"launch": pb_launch, "nested": pb_nested, "kill": pb_kill, "get": pb_get}.items():
    out("api_request", "pb_" + name, b"\xc0" + body)
    out("api_request", "http_pb_" + name, b"\0" + http(body, content_type="application/x-protobuf"))
pb_first = field(1, 18) + field(10, field(1, 1) + field(2, pb_id("pod", "dbg")))
pb_data = field(1, 18) + field(10, field(1, 2) + field(3, field(1, 1) + field(2, field(1, 1) + field(2, "hi\n"))))
out("api_request", "input_stream_pb", b"\0" + stream(records(pb_first, pb_data), content_type="application/x-protobuf"))
