"""Every public function of the activity extension, called from psycopg 3.

Run with Debian's interpreter, /usr/bin/python3, not a bare `python3`: psycopg 3
comes from Debian's python3-psycopg package, and `python3` on a machine with
pyenv may be a shim for another interpreter that does not have it
(test/shell/drivers.sh runs it that way).

Each call passes native Python values the way an application does, with
psycopg's default adaptation and server-side parameters (the extended
protocol): str (sent as `unknown` for %s, as `text` for %b), int (int2, int4 or
int8 by value), list (an array; a list of str is `unknown`), None, datetime
(timestamptz when aware, timestamp when naive), timedelta (interval),
uuid.UUID (uuid), and JSON wrapped in Jsonb(...) (sent as jsonb) or Json(...)
(sent as json): psycopg adapts no dict by itself. A cursor is read back from
page() as a str (text results) or bytes (binary results) and sent back as it
was read. A few key calls also run prepared (prepare=True) and with binary
results (cursor(binary=True)).

Calls an application makes run as a role with only the privileges README's
"Privileges" lists (USAGE on schema activity, INSERT and SELECT on
activity.activities); maintenance and registry calls as the owner set with
activity.set_owner(); set_owner() itself as the superuser.

Environment: libpq's (PGHOST, PGPORT, PGDATABASE; PGUSER the superuser),
DRIVERS_OWNER and DRIVERS_APP (role names; both LOGIN, created by
test/shell/drivers.sh) with DRIVERS_OWNER_PASSWORD and DRIVERS_APP_PASSWORD
(pg_virtualenv's clusters authenticate TCP connections by password). The database needs CREATE EXTENSION activity and
examples/catalogue.sql. Prints TAP, one line per call, each named
"<object>: <call>" (the wrapper groups them by object); exits 1 if any failed.
"""

import datetime
import json
import os
import re
import sys
import traceback
import uuid

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types.json import Json, Jsonb

OWNER = os.environ.get("DRIVERS_OWNER", "activity_drivers_owner")
APP = os.environ.get("DRIVERS_APP", "activity_drivers_app")
SUPER = os.environ.get("PGUSER", "postgres")

W = "py-ws"                        # this driver's workspace
TYPE_A = "py.widget.created"       # registered, with schema versions
TYPE_J = "py.member.joined"        # mapped to a universal type
TYPE_R = "py.widget.retired"       # its schema versions get retired
TYPE_P = "py.widget.shared"        # registered for some platforms, then for any
CONSUMER = "py_drivers"
UTC = datetime.timezone.utc
NOW = datetime.datetime.now(UTC)

SCHEMA_V1 = {"type": "object",
             "properties": {"n": {"type": "integer", "minimum": 0}},
             "required": ["n"]}
# each later version adds an optional property: backward compatible
SCHEMA_V2 = {**SCHEMA_V1, "properties": {**SCHEMA_V1["properties"], "label": {"type": "string"}}}
SCHEMA_V3 = {**SCHEMA_V1, "properties": {**SCHEMA_V2["properties"], "tags": {"type": "array"}}}
SCHEMA_V4 = {**SCHEMA_V1, "properties": {**SCHEMA_V3["properties"], "note": {"type": "string"}}}
BREAKING = {"type": "object", "required": ["n", "m"]}
CHECK = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}},
         "additionalProperties": False}

n_tests = 0
n_failed = 0


def connect(user, password=None):
    options = {"password": password} if password else {}
    return psycopg.connect(user=user, autocommit=True, application_name="activity-drivers-py", **options)


su = connect(SUPER)
owner = connect(OWNER, os.environ.get("DRIVERS_OWNER_PASSWORD"))
app = connect(APP, os.environ.get("DRIVERS_APP_PASSWORD"))


def one(conn, query, params=(), **cursor_options):
    """The first row of a query run with server-side parameters."""
    with conn.cursor(**cursor_options) as cur:
        cur.execute(query, params)
        return cur.fetchone()


def rows(conn, query, params=(), prepare=None, **cursor_options):
    with conn.cursor(**cursor_options) as cur:
        cur.execute(query, params, prepare=prepare)
        return cur.fetchall()


def check(name):
    """Runs the decorated function as one TAP test named `name`."""
    def run(fn):
        global n_tests, n_failed
        n_tests += 1
        try:
            fn()
            print(f"ok {n_tests} - {name}", flush=True)
        except Exception as e:      # every failure is reported, none stops the run
            n_failed += 1
            print(f"not ok {n_tests} - {name}", flush=True)
            if isinstance(e, psycopg.Error):
                what = f"{type(e).__name__} {e.sqlstate or ''}: {str(e).strip()}"
            elif isinstance(e, AssertionError):
                what = f"assertion failed: {e}"
            else:
                what = "".join(traceback.format_exception_only(type(e), e)).strip()
            for line in what.splitlines():
                print(f"#   {line}", flush=True)
        return fn
    return run


def eq(got, want):
    assert got == want, f"got {got!r}, expected {want!r}"


def refused(sqlstate, conn, query, params):
    """The call fails with `sqlstate` (and the connection is usable after)."""
    try:
        one(conn, query, params)
    except psycopg.Error as e:
        assert e.sqlstate == sqlstate, f"got {e.sqlstate}: {e}, expected {sqlstate}"
        return
    raise AssertionError(f"no error, expected {sqlstate}")


class RawBinary(bytes):
    """Bytes to be sent in binary with the OID of an extension type (see below)."""


def binary_dumper(oid):
    """A psycopg dumper sending RawBinary values in binary format with `oid`:
    how an application sends a value of a type psycopg does not know in
    binary (its receive function reads it)."""
    class D(Dumper):
        format = Format.BINARY

        def dump(self, obj):
            return bytes(obj)
    D.oid = oid
    return D


CURSOR_OID = one(su, "SELECT 'activity.cursor'::regtype::oid")[0]
JSONSCHEMA_OID = one(su, "SELECT 'activity.jsonschema'::regtype::oid")[0]


# --- ownership and the registry (the owner role) --------------------------------

@check("activity.set_owner: the owner role as a str (regrole), positional, as the superuser")
def _():
    one(su, "SELECT activity.set_owner(%s)", [OWNER])
    eq(one(su, "SELECT tableowner FROM pg_tables WHERE schemaname = 'activity' AND tablename = 'event_types'")[0], OWNER)


@check("activity.set_owner: named notation (owner => %s), again: nothing changes")
def _():
    one(su, "SELECT activity.set_owner(owner => %s)", [OWNER])
    eq(one(su, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'activity'")[0], OWNER)


@check("activity.register_platform: positional str, then named notation with None, as the owner")
def _():
    eq(one(owner, "SELECT name, description, builtin FROM activity.register_platform(%s, %s)", ["web", "The web app"]),
       ("web", "The web app", False))
    eq(one(owner, "SELECT name, description FROM activity.register_platform(name => %s, description => %s)", ["api", None]),
       ("api", None))
    try:
        one(owner, "SELECT activity.register_platform(%s)", ["Web"])
        raise AssertionError("an upper-case platform name was accepted")
    except psycopg.errors.InvalidParameterValue:
        pass


@check("activity.register_universal_type: a list of platforms, and an empty list for all")
def _():
    eq(one(owner, "SELECT name, platforms FROM activity.register_universal_type(%s, %s, %s)",
           ["PY_WIDGET_SHARE", "A widget was shared", ["web", "api"]]), ("PY_WIDGET_SHARE", ["api", "web"]))
    eq(one(owner, "SELECT platforms FROM activity.register_universal_type(name => %s, platforms => %s)",
           ["PY_WIDGET_SHARE", []])[0], None)
    try:
        one(owner, "SELECT activity.register_universal_type(%s, platforms => %s)", ["PY_X", ["discrod"]])
        raise AssertionError("an unknown platform was accepted")
    except psycopg.errors.ForeignKeyViolation:
        pass


@check("activity.register_type: positional str, None and lists (platforms, actor_types), as the owner")
def _():
    r = one(owner, "SELECT name, recipient, platforms, actor_types FROM activity.register_type(%s, %s, %s, %s, %s, %s)",
            [TYPE_P, "A widget was shared (psycopg).", None, "optional", ["web", "api"], ["user", "agent"]])
    eq(r, (TYPE_P, "optional", ["api", "web"], ["agent", "user"]))
    r = one(owner, "SELECT name, platforms, actor_types FROM activity.register_type(%s, %s)",
            [TYPE_A, "A widget was created (psycopg)."])
    eq(r, (TYPE_A, None, ["agent", "system", "user"]))


@check("activity.register_type: named notation; an empty list (platforms => []) allows any platform")
def _():
    r = one(owner, "SELECT name, universal_type, recipient FROM activity.register_type("
                   "name => %s, description => %s, universal_type => %s, recipient => %s, platforms => %s)",
            [TYPE_J, "A member joined (psycopg).", "USER_JOIN", "forbidden", None])
    eq(r, (TYPE_J, "USER_JOIN", "forbidden"))
    r = one(owner, "SELECT platforms FROM activity.register_type(%s, platforms => %s)", [TYPE_P, []])
    eq(r[0], None)
    one(owner, "SELECT activity.register_type(name => %s)", [TYPE_R])


@check("activity.register_schema: the schema as a str (unknown), positional")
def _():
    v = one(owner, "SELECT activity.register_schema(%s, %s)", [TYPE_A, json.dumps(SCHEMA_V1)])[0]
    assert isinstance(v, int) and v >= 1, v


@check("activity.register_schema: the schema as Jsonb(dict) (jsonb), named compatibility")
def _():
    v = one(owner, "SELECT activity.register_schema(%s, %s, compatibility => %s)",
            [TYPE_A, Jsonb(SCHEMA_V2), "backward"])[0]
    assert v >= 1, v


@check("activity.register_schema: the schema as Json(dict) (json), named notation")
def _():
    v = one(owner, "SELECT activity.register_schema(type => %s, schema => %s)", [TYPE_A, Json(SCHEMA_V3)])[0]
    assert v >= 1, v


@check("activity.register_schema: the schema as a str sent as text (%b)")
def _():
    v = one(owner, "SELECT activity.register_schema(%b, %b, %b)", [TYPE_A, json.dumps(SCHEMA_V4), "none"])[0]
    assert v >= 1, v


@check("activity.compatibility_problems: the schema as a str, positional")
def _():
    r = rows(owner, "SELECT version, direction, change FROM activity.compatibility_problems(%s, %s, %s)",
             [TYPE_A, json.dumps(BREAKING), "backward"])
    assert len(r) >= 1 and all(isinstance(x[0], int) and x[1] and x[2] for x in r), r


@check("activity.compatibility_problems: the schema as Jsonb(dict), named notation")
def _():
    r = rows(owner, "SELECT change FROM activity.compatibility_problems(type => %s, schema => %s, compatibility => %s)",
             [TYPE_A, Jsonb(BREAKING), "full"])
    assert len(r) >= 1, r


@check("activity.compatibility_problems: the schema as Json(dict)")
def _():
    r = rows(owner, "SELECT change FROM activity.compatibility_problems(%s, %s)", [TYPE_A, Json(BREAKING)])
    assert len(r) >= 1, r


@check("activity.retire_schema: positional str and int (int2)")
def _():
    v = one(owner, "SELECT activity.register_schema(%s, %s)", [TYPE_R, json.dumps(SCHEMA_V1)])[0]
    r = one(owner, "SELECT type, version, retired_at FROM activity.retire_schema(%s, %s)", [TYPE_R, v])
    eq(r[:2], (TYPE_R, v))
    assert isinstance(r[2], datetime.datetime), r


@check("activity.retire_schema: named notation (type => %s, version => %s)")
def _():
    v = one(owner, "SELECT activity.register_schema(%s, %s, %s)", [TYPE_R, json.dumps(SCHEMA_V2), "none"])[0]
    r = one(owner, "SELECT version, retired_at IS NOT NULL FROM activity.retire_schema(type => %s, version => %s)", [TYPE_R, v])
    eq(r, (v, True))


@check("activity.restore_row_security: as the owner, nothing to restore")
def _():
    eq(rows(owner, "SELECT object, restored FROM activity.restore_row_security()"), [])


@check("activity.universal_type: a str, as the application role")
def _():
    eq(one(app, "SELECT activity.universal_type(%s)", ["discord:guildMemberAdd"])[0], "USER_JOIN")
    eq(one(app, "SELECT activity.universal_type(type => %s)", [TYPE_J])[0], "USER_JOIN")
    eq(one(app, "SELECT activity.universal_type(%s)", [None])[0], None)


# --- JSON Schema validation (the application role) ------------------------------------

GOOD, BAD = {"n": 3}, {"n": -1, "x": True}


@check("activity.is_valid: document Jsonb(dict), schema a str")
def _():
    eq(one(app, "SELECT activity.is_valid(%s, %s)", [Jsonb(GOOD), json.dumps(CHECK)])[0], True)
    eq(one(app, "SELECT activity.is_valid(%s, %s)", [Jsonb(BAD), json.dumps(CHECK)])[0], False)


@check("activity.is_valid: document and schema both Jsonb(dict)")
def _():
    eq(one(app, "SELECT activity.is_valid(%s, %s)", [Jsonb(GOOD), Jsonb(CHECK)])[0], True)
    eq(one(app, "SELECT activity.is_valid(%s, %s)", [Jsonb(BAD), Jsonb(CHECK)])[0], False)


@check("activity.is_valid: schema Json(dict), named notation (document => %s, schema => %s)")
def _():
    eq(one(app, "SELECT activity.is_valid(document => %s, schema => %s)", [Jsonb(GOOD), Json(CHECK)])[0], True)


# A document (metadata, the document validated) is jsonb, as for PostgreSQL's
# own jsonb functions: Jsonb(...) in psycopg; Json(...) sends json, which no
# function takes (PostgreSQL's json -> jsonb cast is not implicit, and an
# overload would make every untyped call ambiguous). README says so.
@check("activity.is_valid: document Json(dict) (json) is refused: documents are Jsonb (42883)")
def _():
    refused("42883", app, "SELECT activity.is_valid(%s, %s)", [Json(BAD), json.dumps(CHECK)])


@check("activity.is_valid: Jsonb and Jsonb, prepared (prepare=True), three times")
def _():
    for doc, want in [(GOOD, True), (BAD, False), (GOOD, True)]:
        eq(rows(app, "SELECT activity.is_valid(%s, %s)", [Jsonb(doc), Jsonb(CHECK)], prepare=True)[0][0], want)


@check("activity.is_valid: Jsonb and a str, prepared (prepare=True), and with binary results")
def _():
    eq(rows(app, "SELECT activity.is_valid(%s, %s)", [Jsonb(BAD), json.dumps(CHECK)], prepare=True)[0][0], False)
    eq(one(app, "SELECT activity.is_valid(%s, %s)", [Jsonb(GOOD), json.dumps(CHECK)], binary=True)[0], True)


@check("activity.is_valid: Jsonb and Jsonb, binary results (cursor(binary=True))")
def _():
    eq(one(app, "SELECT activity.is_valid(%s, %s)", [Jsonb(GOOD), Jsonb(CHECK)], binary=True)[0], True)


@check("activity.is_valid: binary parameters (%b): the schema as a str is sent as text")
def _():
    eq(one(app, "SELECT activity.is_valid(%b, %b)", [Jsonb(GOOD), json.dumps(CHECK)], binary=True)[0], True)


ERRORS = [("/n", "minimum"), ("/x", "additionalProperties")]


@check("activity.validation_errors: document Jsonb(dict), schema a str")
def _():
    eq(rows(app, "SELECT path, keyword FROM activity.validation_errors(%s, %s) ORDER BY path",
            [Jsonb(BAD), json.dumps(CHECK)]), ERRORS)


@check("activity.validation_errors: document and schema both Jsonb(dict)")
def _():
    eq(rows(app, "SELECT path, keyword FROM activity.validation_errors(%s, %s) ORDER BY path",
            [Jsonb(BAD), Jsonb(CHECK)]), ERRORS)


@check("activity.validation_errors: schema Json(dict), named notation")
def _():
    eq(rows(app, "SELECT path, keyword FROM activity.validation_errors(document => %s, schema => %s) ORDER BY path",
            [Jsonb(BAD), Json(CHECK)]), ERRORS)


@check("activity.validation_errors: document Json(dict) (json) is refused: documents are Jsonb (42883)")
def _():
    refused("42883", app, "SELECT path, keyword FROM activity.validation_errors(%s, %s) ORDER BY path",
            [Json(BAD), json.dumps(CHECK)])


@check("activity.validation_errors: binary results, Jsonb and a str sent as text (%b)")
def _():
    eq(rows(app, "SELECT path, keyword FROM activity.validation_errors(%b, %b) ORDER BY path",
            [Jsonb(BAD), json.dumps(CHECK)], binary=True), ERRORS)


@check("activity.jsonschema_in: a str, called directly and as the input of a parameter")
def _():
    eq(json.loads(one(app, "SELECT activity.jsonschema_in(%s)", [json.dumps(CHECK)])[0]), CHECK)
    eq(json.loads(one(app, "SELECT activity.jsonschema_out(%s)", [json.dumps(CHECK)])[0]), CHECK)


@check("activity.jsonschema_out: a stored schema read back as a str (text results)")
def _():
    doc = one(owner, "SELECT schema FROM activity.schemas WHERE type = %s ORDER BY version LIMIT 1", [TYPE_A])[0]
    assert isinstance(doc, str), type(doc)
    eq(json.loads(doc), SCHEMA_V1)


@check("activity.jsonschema_send: binary results give format 1 and the schema's text")
def _():
    doc = one(owner, "SELECT schema FROM activity.schemas WHERE type = %s ORDER BY version LIMIT 1", [TYPE_A], binary=True)[0]
    assert isinstance(doc, bytes) and doc[:1] == b"\x01", doc
    eq(json.loads(doc[1:]), SCHEMA_V1)
    eq(one(app, "SELECT activity.jsonschema_send(%s)", [json.dumps(CHECK)])[0][:1], b"\x01")


@check("activity.jsonschema_recv: a schema sent in binary (%b, the type's OID), as an application registering a dumper")
def _():
    with app.cursor() as cur:
        cur.adapters.register_dumper(RawBinary, binary_dumper(JSONSCHEMA_OID))
        cur.execute("SELECT activity.is_valid(%s, %b)", [Jsonb(BAD), RawBinary(b"\x01" + json.dumps(CHECK).encode())])
        eq(cur.fetchone()[0], False)


@check("activity.jsonschema_to_jsonb: a str")
def _():
    eq(one(app, "SELECT activity.jsonschema_to_jsonb(%s)", [json.dumps(CHECK)])[0], CHECK)


@check("activity.jsonschema_to_jsonb: a Jsonb(dict)")
def _():
    eq(one(app, "SELECT activity.jsonschema_to_jsonb(%s)", [Jsonb(CHECK)])[0], CHECK)


# --- recording (the application role) ---------------------------------------------------

ids = {}


@check("activity.record: positional str and Jsonb(dict) metadata, returns a uuid.UUID")
def _():
    r = one(app, "SELECT activity.record(%s, %s, %s, %s)", [W, TYPE_A, "py-ada", Jsonb({"n": 1, "label": "first"})])[0]
    assert isinstance(r, uuid.UUID), r
    ids["first"] = r


@check("activity.record: every argument named: uuid.UUID id, aware datetime, int version, None")
def _():
    given = uuid.UUID(str(one(app, "SELECT activity.uuidv7()")[0]))
    r = one(app, """SELECT activity.record(workspace_id => %s, type => %s, initiator_id => %s, metadata => %s,
                                           recipient_id => %s, actor_type => %s, version => %s, occurred_at => %s,
                                           platform => %s, subject_type => %s, subject_id => %s, caused_by => %s,
                                           id => %s)""",
            [W, "issue.created", "py-bot", Jsonb({"title": "Broken", "identifier": "ENG-1"}), None, "agent", 1,
             NOW - datetime.timedelta(hours=1), None, "issue", "ENG-1", None, given])[0]
    eq(r, given)
    ids["issue"] = r


@check("activity.record: a retry with the same id (uuid.UUID) returns it and records nothing")
def _():
    r = one(app, "SELECT activity.record(%s, %s, %s, %s, subject_type => %s, subject_id => %s, id => %s, actor_type => %s)",
            [W, "issue.created", "py-bot", Jsonb({"title": "Broken", "identifier": "ENG-1"}), "issue", "ENG-1",
             ids["issue"], "agent"])[0]
    eq(r, ids["issue"])
    eq(one(app, "SELECT count(*) FROM activity.activities WHERE id = %s", [ids["issue"]])[0], 1)


@check("activity.record: caused_by a uuid.UUID, actor_type system, initiator None, platform and recipient")
def _():
    one(app, "SELECT activity.record(%s, %s, %s, %s, platform => %s, recipient_id => %s)",
        [W, "discord:guildMemberAdd", "py-cy", Jsonb({}), "discord", "py-inviter"])
    deleted = one(app, "SELECT activity.record(%s, %s, %s, %s, platform => %s)",
                  [W, "discord:messageDelete", "py-mod", Jsonb({"message_id": "m-1"}), "discord"])[0]
    r = one(app, "SELECT activity.record(%s, %s, %s, %s, actor_type => %s, caused_by => %s, function_type => %s)",
            [W, "MODERATION_LINK", None, Jsonb({"rule": "links"}), "system", deleted, "linkFilter"])[0]
    assert isinstance(r, uuid.UUID), r
    eq(one(app, "SELECT caused_by FROM activity.activities WHERE id = %s", [r])[0], deleted)
    one(app, "SELECT activity.record(%s, %s, %s, %s, recipient_id => %s)",
        [W, "award.given", "py-ada", Jsonb({"award": "Helpful"}), "py-bob"])
    one(app, "SELECT activity.record(%s, %s, %s)", [W, TYPE_J, "py-dee"])


@check("activity.record: a naive datetime (timestamp) and metadata None")
def _():
    r = one(app, "SELECT activity.record(%s, %s, %s, %s, occurred_at => %s)",
            [W, TYPE_J, "py-eve", None, datetime.datetime(2001, 2, 3, 4, 5, 6)])[0]
    eq(one(app, "SELECT metadata, occurred_at < '2002-01-01' FROM activity.activities WHERE id = %s", [r]), ({}, True))


@check("activity.record: metadata Json(dict) (json) is refused: metadata is Jsonb (42883)")
def _():
    refused("42883", app, "SELECT activity.record(%s, %s, %s, %s)", [W, TYPE_A, "py-json", Json({"n": 2, "label": "json"})])


@check("activity.record: prepared (prepare=True), three calls, and with binary results")
def _():
    for i in range(3):
        r = rows(app, "SELECT activity.record(%s, %s, %s, %s)", [W, TYPE_A, f"py-prep-{i}", Jsonb({"n": i})],
                 prepare=True)[0][0]
        assert isinstance(r, uuid.UUID), r
    r = one(app, "SELECT activity.record(%s, %s, %s, %s, occurred_at => %s)",
            [W, TYPE_A, "py-bin", Jsonb({"n": 7}), NOW - datetime.timedelta(minutes=5)], binary=True)[0]
    assert isinstance(r, uuid.UUID), r


@check("activity.record: binary parameters (%b): str as text, Jsonb, int, datetime")
def _():
    r = one(app, "SELECT activity.record(%b, %b, %b, %b, version => %b, occurred_at => %b)",
            [W, TYPE_A, "py-binparams", Jsonb({"n": 8}), 1, NOW - datetime.timedelta(minutes=4)], binary=True)[0]
    assert isinstance(r, uuid.UUID), r


@check("activity.activities: INSERT with parameters (metadata Json and Jsonb) and COPY rows from Python values")
def _():
    with app.cursor() as cur:
        cur.execute("INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, occurred_at) "
                    "VALUES (%s, %s, %s, %s, %s), (%s, %s, %s, %s, %s)",
                    [W, TYPE_A, "py-ins-1", Json({"n": 4}), NOW - datetime.timedelta(minutes=3),
                     W, TYPE_A, "py-ins-2", Jsonb({"n": 5}), NOW - datetime.timedelta(minutes=2)])
        with cur.copy("COPY activity.activities (workspace_id, type, initiator_id, metadata, occurred_at) FROM STDIN") as cp:
            cp.write_row([W, TYPE_A, "py-copy", json.dumps({"n": 6}), NOW - datetime.timedelta(minutes=1)])
    eq(one(app, "SELECT count(*) FROM activity.activities WHERE workspace_id = %s AND initiator_id = ANY(%s)",
           [W, ["py-ins-1", "py-ins-2", "py-copy"]])[0], 3)


# --- feeds (the application role) ------------------------------------------------------

page1 = []


@check("activity.page: positional workspace, named \"limit\"; cursor read back as a str")
def _():
    r = rows(app, 'SELECT id, cursor, has_more FROM activity.page(%s, "limit" => %s)', [W, 3])
    eq(len(r), 3)
    assert all(isinstance(x[1], str) and len(x[1]) == 51 for x in r), r
    eq(r[-1][2], True)
    page1.extend(r)


@check("activity.page: named notation, the cursor sent back as a str (workspace_id => %s, after => %s, \"limit\" => %s)")
def _():
    r = rows(app, 'SELECT id, cursor FROM activity.page(workspace_id => %s, after => %s, "limit" => %s)',
             [W, page1[-1][1], 3])
    eq(len(r), 3)
    everything = rows(app, 'SELECT id FROM activity.page(%s, "limit" => %s)', [W, 6])
    eq([x[0] for x in page1] + [x[0] for x in r], [x[0] for x in everything])


@check("activity.page: positional (workspace, cursor str, limit int)")
def _():
    r = rows(app, "SELECT id FROM activity.page(%s, %s, %s)", [W, page1[0][1], 2])
    eq([x[0] for x in r], [x[0] for x in page1[1:3]])


@check("activity.page: after None, and filters as lists, datetimes and str (types, actor_types, since, until, direction)")
def _():
    r = rows(app, """SELECT type, actor_type FROM activity.page(%s, after => %s, types => %s, actor_types => %s,
                                                             since => %s, until => %s, direction => %s)""",
             [W, None, ["py.*", "issue.created"], ["user", "agent"], NOW - datetime.timedelta(days=1),
              NOW + datetime.timedelta(days=1), "asc"])
    assert len(r) >= 5 and {t for t, _ in r} <= {TYPE_A, TYPE_J, "issue.created"}, r
    eq(rows(app, "SELECT id FROM activity.page(%s, types => %s)", [W, []]), [])


@check("activity.page: entity, actor, recipient, universal-type and platform feeds; every workspace (None)")
def _():
    eq(rows(app, "SELECT id FROM activity.page(%s, subject_type => %s, subject_id => %s)", [W, "issue", "ENG-1"]),
       [(ids["issue"],)])
    eq(len(rows(app, "SELECT id FROM activity.page(%s, initiator_id => %s)", [W, "py-bot"])), 1)
    eq(len(rows(app, "SELECT id FROM activity.page(%s, recipient_id => %s)", [W, "py-bob"])), 1)
    eq(len(rows(app, "SELECT id FROM activity.page(%s, universal_types => %s, platforms => %s)",
                [W, ["USER_JOIN"], ["discord"]])), 1)
    r = rows(app, 'SELECT workspace_id FROM activity.page(%s, types => %s, "limit" => %s)', [None, [TYPE_A], 200])
    assert len(r) >= 5 and {x[0] for x in r} >= {W}, r


@check("activity.page: prepared (prepare=True), following the cursor (a str) page by page")
def _():
    after, seen = None, []
    for _ in range(4):
        r = rows(app, 'SELECT id, cursor FROM activity.page(workspace_id => %s, after => %s, "limit" => %s)',
                 [W, after, 2], prepare=True)
        seen += [x[0] for x in r]
        after = r[-1][1]
    eq(seen, [x[0] for x in rows(app, 'SELECT id FROM activity.page(%s, "limit" => %s)', [W, 8])])


@check("activity.page: binary results (cursor(binary=True)), the cursor given as a str")
def _():
    r = rows(app, 'SELECT id, has_more FROM activity.page(%s, after => %s, "limit" => %s)', [W, page1[0][1], 2],
             binary=True)
    eq([x[0] for x in r], [x[0] for x in page1[1:3]])


@check("activity.page: binary results: the cursor read back (bytes) and sent back as it was read")
def _():
    r = rows(app, 'SELECT id, cursor FROM activity.page(%s, "limit" => %s)', [W, 1], binary=True)
    assert isinstance(r[0][1], bytes), r
    r2 = rows(app, 'SELECT id FROM activity.page(%s, after => %s, "limit" => %s)', [W, r[0][1], 2], binary=True)
    eq([x[0] for x in r2], [x[0] for x in page1[1:3]])


@check("activity.page: binary parameters (%b): the cursor, a str, sent as text")
def _():
    r = rows(app, 'SELECT id FROM activity.page(%b, after => %b, "limit" => %b)', [W, page1[0][1], 2])
    eq([x[0] for x in r], [x[0] for x in page1[1:3]])


@check("activity.page_plans: positional str, cursor str and int; lists, as the owner")
def _():
    r = rows(owner, "SELECT partition, plan FROM activity.page_plans(%s, %s, %s)", [W, page1[0][1], 10])
    assert len(r) >= 1 and all(isinstance(p, str) and p for _, p in r), r
    r = rows(owner, "SELECT plan FROM activity.page_plans(%s, types => %s, actor_types => %s)", [W, [TYPE_A], ["user"]])
    assert len(r) >= 1 and all(isinstance(p, str) and p for (p,) in r), r


@check("activity.page_plans: named notation with datetimes")
def _():
    r = rows(owner, "SELECT plan FROM activity.page_plans(workspace_id => %s, since => %s, until => %s, direction => %s)",
             [W, NOW - datetime.timedelta(days=1), NOW, "asc"])
    assert len(r) >= 1, r


@check("activity.workspace_activity: positional str and ints")
def _():
    r = rows(app, "SELECT id, action, actor_id, details, created_at FROM activity.workspace_activity(%s, %s, %s)", [W, 3, 1])
    eq(len(r), 3)
    assert isinstance(r[0][3], dict) and isinstance(r[0][4], datetime.datetime), r


@check("activity.workspace_activity: named \"limit\", \"offset\" and actor_type")
def _():
    r = rows(app, 'SELECT actor_type FROM activity.workspace_activity(%s, "limit" => %s, "offset" => %s, actor_type => %s)',
             [W, 50, 0, "agent"])
    eq(r, [("agent",)])


@check("activity.issue_activity: positional str")
def _():
    eq(rows(app, "SELECT id, issue_id FROM activity.issue_activity(%s, %s)", [W, "ENG-1"]), [(ids["issue"], "ENG-1")])


@check("activity.issue_activity: named notation with ints and None")
def _():
    r = rows(app, 'SELECT action FROM activity.issue_activity(workspace_id => %s, issue_id => %s, "limit" => %s, '
                  '"offset" => %s, actor_type => %s)', [W, "ENG-1", 10, 0, None])
    eq(r, [("issue.created",)])


@check("activity.counts: positional str and aware datetimes")
def _():
    r = rows(app, "SELECT bucket, key, n FROM activity.counts(%s, %s, %s)",
             [W, NOW - datetime.timedelta(days=2), NOW + datetime.timedelta(days=1)])
    assert any(k == TYPE_A and n >= 5 for _, k, n in r) and isinstance(r[0][0], datetime.datetime), r


@check("activity.counts: bucket a timedelta (interval), \"by\" named; bucket a str; workspace None")
def _():
    r = rows(app, 'SELECT key, n FROM activity.counts(%s, %s, %s, %s, "by" => %s)',
             [W, NOW - datetime.timedelta(days=2), NOW + datetime.timedelta(days=1), datetime.timedelta(hours=6),
              "universal_type"])
    assert any(k == "USER_JOIN" for k, _ in r), r
    r = rows(app, "SELECT n FROM activity.counts(workspace_id => %s, since => %s, until => %s, bucket => %s)",
             [None, NOW - datetime.timedelta(days=2), NOW + datetime.timedelta(days=1), "1 hour"])
    assert len(r) >= 1, r


@check("activity.counts: \"by\" function_type and tz named")
def _():
    r = rows(app, 'SELECT key, n FROM activity.counts(%s, %s, %s, "by" => %s, tz => %s)',
             [W, NOW - datetime.timedelta(days=2), NOW + datetime.timedelta(days=1), "function_type", "Europe/Paris"])
    assert any(k == "linkFilter" for k, _ in r), r


@check("activity.bursts: datetimes, a timedelta, numbers and a list")
def _():
    r = rows(app, 'SELECT bucket, key, n, expected, score FROM activity.bursts(%s, %s, %s, %s, "by" => %s, '
                  'min_count => %s, min_score => %s, types => %s)',
             [W, NOW - datetime.timedelta(days=2), NOW + datetime.timedelta(days=1), datetime.timedelta(hours=1),
              "type", 1, -1000.0, [TYPE_A]])
    assert r and all(k == TYPE_A and isinstance(b, datetime.datetime) and isinstance(z, float)
                     for b, k, n, e, z in r), r
    try:
        rows(app, "SELECT * FROM activity.bursts(%s, %s, %s, tz => %s)",
             [W, NOW - datetime.timedelta(days=1), NOW, "Mars/Olympus"])
        raise AssertionError("an unknown time zone was accepted")
    except psycopg.errors.InvalidParameterValue:
        pass


@check("activity.anomalies: named arguments; nothing unusual in this workspace")
def _():
    eq(rows(app, 'SELECT "check", bucket, key, n FROM activity.anomalies(workspace_id => %s, since => %s, until => %s)',
            [W, NOW - datetime.timedelta(days=2), NOW + datetime.timedelta(days=1)]), [])


@check("activity.activity_log: SELECT with parameters, as the application role")
def _():
    r = rows(app, "SELECT type, universal_type FROM activity.activity_log WHERE workspace_id = %s AND type = %s",
             [W, "discord:guildMemberAdd"])
    eq(r, [("discord:guildMemberAdd", "USER_JOIN")])


# --- cursors (the application role) -----------------------------------------------------

@check("activity.cursor_info: a cursor as a str, positional and named")
def _():
    r = one(app, "SELECT format_version, direction, occurred_at, id, query_hash FROM activity.cursor_info(%s)", [page1[0][1]])
    eq((r[1], r[3]), ("desc", page1[0][0]))
    assert isinstance(r[2], datetime.datetime) and isinstance(r[4], int), r
    eq(one(app, "SELECT id FROM activity.cursor_info(cursor => %s)", [page1[0][1]])[0], page1[0][0])


@check("activity.cursor_info: a cursor as a str sent as text (%b)")
def _():
    eq(one(app, "SELECT id FROM activity.cursor_info(%b)", [page1[0][1]])[0], page1[0][0])


@check("activity.cursor_info: a cursor read with binary results (bytes), sent back as it was read")
def _():
    raw = one(app, 'SELECT cursor FROM activity.page(%s, "limit" => %s)', [W, 1], binary=True)[0]
    eq(one(app, "SELECT id FROM activity.cursor_info(%s)", [raw])[0], page1[0][0])


@check("activity.cursor_eq: two str")
def _():
    eq(one(app, "SELECT activity.cursor_eq(%s, %s)", [page1[0][1], page1[0][1]])[0], True)
    eq(one(app, "SELECT activity.cursor_eq(%s, %s)", [page1[0][1], page1[1][1]])[0], False)


@check("activity.cursor_in: a str, called directly")
def _():
    eq(one(app, "SELECT activity.cursor_in(%s)", [page1[0][1]])[0], page1[0][1])


@check("activity.cursor_out: a str, called directly; page()'s text results")
def _():
    eq(one(app, "SELECT activity.cursor_out(%s)", [page1[0][1]])[0], page1[0][1])


@check("activity.cursor_send: a str, called directly, gives the bytes of binary results")
def _():
    raw = one(app, 'SELECT cursor FROM activity.page(%s, "limit" => %s)', [W, 1], binary=True)[0]
    eq(one(app, "SELECT activity.cursor_send(%s)", [page1[0][1]])[0], raw)


@check("activity.cursor_recv: the binary form sent in binary (%b, the type's OID), as an application registering a dumper")
def _():
    raw = one(app, "SELECT activity.cursor_send(%s)", [page1[0][1]])[0]
    with app.cursor() as cur:
        cur.adapters.register_dumper(RawBinary, binary_dumper(CURSOR_OID))
        cur.execute('SELECT id FROM activity.page(%s, after => %b, "limit" => %s)', [W, RawBinary(raw), 2])
        eq([x[0] for x in cur.fetchall()], [x[0] for x in page1[1:3]])


@check("activity.uuidv7: no argument, returns a uuid.UUID")
def _():
    a, b = one(app, "SELECT activity.uuidv7(), activity.uuidv7()")
    assert isinstance(a, uuid.UUID) and a < b and a.version == 7, (a, b)


@check("activity.uuidv7_time: a uuid.UUID, a str, named notation")
def _():
    u = one(app, "SELECT activity.uuidv7()")[0]
    t = one(app, "SELECT activity.uuidv7_time(%s)", [u])[0]
    assert isinstance(t, datetime.datetime) and abs((t - datetime.datetime.now(UTC)).total_seconds()) < 60, t
    eq(one(app, "SELECT activity.uuidv7_time(id => %s)", [str(u)])[0], t)


@check("activity.partition_start: aware and naive datetimes, a str, named")
def _():
    want = datetime.datetime(2024, 5, 1, tzinfo=UTC)
    eq(one(app, "SELECT activity.partition_start(%s)", [datetime.datetime(2024, 5, 17, 12, tzinfo=UTC)])[0], want)
    eq(one(app, "SELECT activity.partition_start(ts => %s)", [datetime.datetime(2024, 5, 17, 12)])[0], want)
    eq(one(app, "SELECT activity.partition_start(%s)", ["2024-05-17 12:00+00"])[0], want)


# --- the change feed --------------------------------------------------------------------

@check("activity.feed_position: positional str and named, as the application role")
def _():
    p = one(app, "SELECT activity.feed_position(%s)", ["beginning"])[0]
    assert isinstance(p, str) and p, p
    assert one(app, "SELECT activity.feed_position(start => %s)", ["now"])[0], "empty"


@check("activity.changes_since: positional str, int, str, list and bool, as the application role")
def _():
    p = one(app, "SELECT activity.feed_position(%s)", ["beginning"])[0]
    r = rows(app, "SELECT (event).id, (event).workspace_id, position FROM activity.changes_since(%s, %s, %s, %s, %s)",
             [p, 1000, W, ["py.*"], False])
    events = [x for x in r if x[2] is None]
    assert len(events) >= 5 and {x[1] for x in events} == {W}, r
    assert r[-1][2], r[-1]


@check("activity.changes_since: named notation (since, \"limit\", workspace_id, types, accept_gap)")
def _():
    p = one(app, "SELECT activity.feed_position()")[0]
    one(app, "SELECT activity.record(%s, %s, %s, %s)", [W, TYPE_A, "py-feed", Jsonb({"n": 9})])
    r = rows(app, 'SELECT (event).initiator_id, position FROM activity.changes_since(since => %s, "limit" => %s, '
                  'workspace_id => %s, types => %s, accept_gap => %s)', [p, 10, W, [TYPE_A], False])
    eq([x[0] for x in r if x[1] is None], ["py-feed"])


@check("activity.create_consumer: named notation with a list, as the owner")
def _():
    r = one(owner, "SELECT name FROM activity.create_consumer(%s, start => %s, workspace_id => %s, types => %s)",
            [CONSUMER, "beginning", W, ["py.*"]])
    eq(r[0], CONSUMER)
    one(owner, "SELECT activity.create_consumer(%s, %s, %s, %s)", [CONSUMER + "_2", "now", None, None])


@check("activity.changes: positional str and int, as the application role")
def _():
    r = rows(app, "SELECT id, workspace_id, type, metadata FROM activity.changes(%s, %s)", [CONSUMER, 1000])
    assert len(r) >= 5 and {x[1] for x in r} == {W} and all(isinstance(x[3], dict) for x in r), r


@check("activity.changes: named \"limit\", as the application role")
def _():
    one(app, "SELECT activity.record(%s, %s, %s, %s)", [W, TYPE_A, "py-changes", Jsonb({"n": 10})])
    r = rows(app, 'SELECT initiator_id FROM activity.changes(consumer => %s, "limit" => %s)', [CONSUMER, 10])
    eq(r, [("py-changes",)])


@check("activity.consumers: SELECT with a parameter, as the owner")
def _():
    eq(one(owner, "SELECT name, lag_events FROM activity.consumers WHERE name = %s", [CONSUMER]), (CONSUMER, 0))


@check("activity.accept_gap: a str, as the owner")
def _():
    eq(one(owner, "SELECT activity.accept_gap(%s)", [CONSUMER])[0], 0)


@check("activity.drop_consumer: positional and named, as the owner")
def _():
    eq(one(owner, "SELECT activity.drop_consumer(%s)", [CONSUMER])[0], True)
    eq(one(owner, "SELECT activity.drop_consumer(name => %s)", [CONSUMER + "_2"])[0], True)


# --- capture (the application role, owning its tables) -----------------------------------

def register_subject(subject):
    for event in ("created", "updated", "deleted"):
        one(owner, "SELECT activity.register_type(%s, subject_type => %s)", [f"{subject}.{event}", subject])


def captured(subject):
    return rows(app, "SELECT type, subject_id, metadata FROM activity.activities "
                     "WHERE workspace_id = %s AND subject_type = %s ORDER BY occurred_at", [W, subject])


@check("activity.track: a table name as a str (regclass) and a str, positional, as the application role owning the table")
def _():
    register_subject("pytask")
    app.execute("CREATE TABLE drivers_app.py_tasks (id text PRIMARY KEY, workspace_id text NOT NULL, title text, "
                "status text DEFAULT 'open')")
    one(app, "SELECT activity.track(%s, %s)", ["drivers_app.py_tasks", "pytask"])
    app.execute("INSERT INTO drivers_app.py_tasks (id, workspace_id, title) VALUES (%s, %s, %s)", ["T-1", W, "Write docs"])
    app.execute("UPDATE drivers_app.py_tasks SET status = %s WHERE id = %s", ["done", "T-1"])
    eq([(t, i) for t, i, _ in captured("pytask")], [("pytask.created", "T-1"), ("pytask.updated", "T-1")])


@check("activity.track: named notation with names (name) and lists (name[], text[])")
def _():
    register_subject("pynote")
    app.execute("CREATE TABLE drivers_app.py_notes (key text PRIMARY KEY, ws text NOT NULL, body text, status text)")
    one(app, 'SELECT activity.track("table" => %s, subject_type => %s, workspace_column => %s, subject_id_column => %s, '
             'columns => %s, events => %s)', ["drivers_app.py_notes", "pynote", "ws", "key", ["status"], ["created", "updated"]])
    app.execute("INSERT INTO drivers_app.py_notes VALUES (%s, %s, %s, %s)", ["N-1", W, "hello", "draft"])
    app.execute("UPDATE drivers_app.py_notes SET body = %s WHERE key = %s", ["not tracked", "N-1"])
    app.execute("UPDATE drivers_app.py_notes SET status = %s WHERE key = %s", ["final", "N-1"])
    app.execute("DELETE FROM drivers_app.py_notes WHERE key = %s", ["N-1"])
    eq([(t, m) for t, _, m in captured("pynote")][1:],
       [("pynote.updated", {"changes": {"status": {"old": "draft", "new": "final"}}})])


@check("activity.tracked: SELECT with a parameter, as the application role")
def _():
    r = rows(app, 'SELECT "table"::text, subject_type, workspace_column, columns, events FROM activity.tracked '
                  "WHERE subject_type = ANY(%s) ORDER BY 1", [["pytask", "pynote"]])
    eq(r, [("drivers_app.py_notes", "pynote", "ws", ["status"], ["created", "updated"]),
           ("drivers_app.py_tasks", "pytask", "workspace_id", None, ["created", "updated", "deleted"])])


@check("activity.untrack: a table name as a str (regclass), positional and named")
def _():
    eq(one(app, "SELECT activity.untrack(%s)", ["drivers_app.py_tasks"])[0], True)
    eq(one(app, 'SELECT activity.untrack("table" => %s)', ["drivers_app.py_notes"])[0], True)
    eq(one(app, "SELECT activity.untrack(%s)", ["drivers_app.py_notes"])[0], False)


# --- partitions and settings (the owner) -------------------------------------------------

@check("activity.configure: named int, timedelta (interval), bool and str")
def _():
    r = one(owner, "SELECT premake, retention FROM activity.configure(premake => %s, retention => %s)",
            [3, datetime.timedelta(days=36500)])
    eq(r, (3, datetime.timedelta(days=36500)))
    r = one(owner, "SELECT retention FROM activity.configure(partition_interval => %s, keep_forever => %s)", ["1 month", True])
    eq(r[0], None)


@check("activity.maintain: no argument")
def _():
    r = rows(owner, "SELECT action, partition FROM activity.maintain()")
    assert all(a != "skipped" for a, _ in r), r


@check("activity.create_partitions: aware datetimes, positional and named")
def _():
    r = rows(owner, "SELECT action, partition, lower FROM activity.create_partitions(%s, %s)",
             [datetime.datetime(2001, 1, 1, tzinfo=UTC), datetime.datetime(2001, 3, 1, tzinfo=UTC)])
    assert {a for a, _, _ in r} <= {"created"}, r
    feb = rows(owner, "SELECT 1 FROM activity.partitions() WHERE lower = %s", [datetime.datetime(2001, 2, 1, tzinfo=UTC)])
    eq(len(feb), 1)
    rows(owner, "SELECT * FROM activity.create_partitions(since => %s, until => %s)",
         [datetime.datetime(2001, 1, 1), datetime.datetime(2001, 3, 1)])


@check("activity.partitions: no argument; partition (regclass) read as a str")
def _():
    r = rows(owner, "SELECT partition, lower, upper, is_default FROM activity.partitions()")
    assert r[-1][3] is True and isinstance(r[0][0], str), r


@check("activity.register_ids: a partition name as a str (regclass), positional and named")
def _():
    part = one(owner, "SELECT partition::text FROM activity.partitions() WHERE lower = %s",
               [datetime.datetime(2001, 2, 1, tzinfo=UTC)])[0]
    r = one(owner, "SELECT registered, already_registered FROM activity.register_ids(%s)", [part])
    assert r[0] == 0 and r[1] >= 1, r     # the event of 2001-02-03, registered when recorded
    one(owner, "SELECT * FROM activity.register_ids(part => %s)", [part])


@check("activity.pending_steps: no argument")
def _():
    eq(rows(owner, "SELECT partition, step, statement FROM activity.pending_steps()"), [])


@check("activity.type_history: SELECT with a parameter, as the owner")
def _():
    r = rows(owner, "SELECT change, schema_version FROM activity.type_history WHERE type = %s ORDER BY at", [TYPE_R])
    assert [c for c, _ in r].count("schema retired") == 2, r


# --- operations: retention rules, erasure, the hash chain (the owner) -----------------------
# Maintenance runs as the owner: these functions refuse other roles (42501).
# Their own workspaces, so that retention and erasure touch nothing else.

OPS_W = "py-ops"                   # rows dated 2101 (the default partition), removed by a retention rule
CHAIN_W = "py-chain"               # an activity the hash chain takes in
ERASE_W = "py-erase"               # a member erased
ERASE_W2 = "py-erase-2"            # the same member elsewhere: an erasure in every workspace
TYPE_O = "py.ops.noted"            # no schema: an erased party's metadata becomes {}
TYPE_X = "py.ops.profile"          # a schema marking properties "x-personal"
FUTURE = datetime.datetime(2101, 1, 5, tzinfo=UTC)   # later than maintain() makes partitions for
ops = {}


@check("activity.default_partition_rows: rows dated 2101 wait in the default partition, later than maintain() makes partitions for")
def _():
    one(owner, "SELECT activity.register_type(%s, %s)", [TYPE_O, "A note (psycopg operations)."])
    for i in range(3):
        one(app, "SELECT activity.record(%s, %s, %s, %s, occurred_at => %s)",
            [OPS_W, TYPE_O, "py-ops", Jsonb({"i": i}), FUTURE + datetime.timedelta(hours=i)])
    r = rows(owner, "SELECT rows, oldest, newest, intervals_away, status FROM activity.default_partition_rows() "
                    "WHERE lower = %s", [datetime.datetime(2101, 1, 1, tzinfo=UTC)])
    eq(len(r), 1)
    n, oldest, newest, away, status = r[0]
    eq((n, oldest, newest), (3, FUTURE, FUTURE + datetime.timedelta(hours=2)))
    assert away > 0 and status.startswith("later than maintain() makes partitions for"), r


@check("activity.partition_stats: SELECT with a datetime parameter, as the owner; sizes are ints, the estimate follows ANALYZE")
def _():
    feb = datetime.datetime(2001, 2, 1, tzinfo=UTC)
    part = one(owner, "SELECT partition::text FROM activity.partitions() WHERE lower = %s", [feb])[0]
    owner.execute(f"ANALYZE {part}")
    r = one(owner, "SELECT partition, upper, is_default, row_estimate, heap_bytes, index_bytes, toast_bytes, total_bytes "
                   "FROM activity.partition_stats WHERE lower = %s", [feb])
    eq(r[:4], (part, datetime.datetime(2001, 3, 1, tzinfo=UTC), False, 1))   # the event of 2001-02-03
    assert all(isinstance(x, int) for x in r[4:]) and r[7] >= r[4] + r[5], r
    # one row a partition, the default one included
    eq(one(owner, "SELECT count(*), count(*) FILTER (WHERE is_default) FROM activity.partition_stats"),
       (one(owner, "SELECT count(*) FROM activity.partitions()")[0], 1))


@check("activity.add_retention: keep a timedelta (interval), types a list (text[]), workspace a str; named notation with keep a str changes the same rule")
def _():
    r = one(owner, "SELECT rule_id, keep, types, workspace_id, created_by FROM activity.add_retention(%s, %s, %s)",
            [datetime.timedelta(days=30), [TYPE_O], OPS_W])
    eq(r[1:], (datetime.timedelta(days=30), [TYPE_O], OPS_W, OWNER))
    ops["typed_rule"] = r[0]
    r = one(owner, "SELECT rule_id, keep FROM activity.add_retention(keep => %s, types => %s, workspace_id => %s)",
            ["90 days", [TYPE_O], OPS_W])
    eq(r, (ops["typed_rule"], datetime.timedelta(days=90)))


@check("activity.add_retention: as the application role, refused (42501); neither types nor workspace (None, None) refused (22023)")
def _():
    refused("42501", app, "SELECT activity.add_retention(%s, %s, %s)", [datetime.timedelta(days=1), None, OPS_W])
    refused("22023", owner, "SELECT activity.add_retention(%s, %s, %s)", [datetime.timedelta(days=1), None, None])


@check("activity.add_retention: types an empty list ([], as page() takes it: no type) never makes a rule for every type")
def _():
    # refused (22023), or a rule that removes nothing; not types NULL, which
    # is every type of the workspace
    try:
        r = one(owner, "SELECT rule_id, types FROM activity.add_retention(%s, %s, %s)",
                [datetime.timedelta(days=1), [], OPS_W + "-empty"])
    except psycopg.Error as e:
        assert e.sqlstate == "22023", f"got {e.sqlstate}: {e}, expected 22023"
        return
    one(owner, "SELECT activity.remove_retention(%s)", [r[0]])
    eq(r[1], [])


@check("activity.retention_preview: no argument; a rule's rows (keep timedelta(0): all of its workspace) are the ones recorded")
def _():
    ops["ws_rule"] = one(owner, "SELECT rule_id FROM activity.add_retention(%s, workspace_id => %s)",
                         [datetime.timedelta(0), OPS_W])[0]
    # (keep 0: every activity of the rule, the cutoff None)
    r = {x[0]: x[1:] for x in rows(owner, "SELECT rule_id, keep, types, workspace_id, cutoff IS NULL, rows, estimated, "
                                          "oldest, newest, partitions FROM activity.retention_preview() "
                                          "WHERE rule_id = ANY(%s)", [[ops["ws_rule"], ops["typed_rule"]]])}
    eq(r[ops["ws_rule"]], (datetime.timedelta(0), None, OPS_W, True, 3, False, FUTURE,
                           FUTURE + datetime.timedelta(hours=2), None))
    # the typed rule keeps 90 days: none of its rows (dated 2101) goes
    eq(r[ops["typed_rule"]][:6], (datetime.timedelta(days=90), [TYPE_O], OPS_W, False, 0, False))
    cutoff = one(owner, "SELECT cutoff FROM activity.retention_preview() WHERE rule_id = %s", [ops["typed_rule"]])[0]
    assert abs((cutoff - (datetime.datetime.now(UTC) - datetime.timedelta(days=90))).total_seconds()) < 60, cutoff


@check("activity.maintenance_due: no argument: the last run, the next partition, the retention rule due now")
def _():
    r = rows(owner, "SELECT due_at, what, detail FROM activity.maintenance_due()")
    eq(r[0][1], "last run")
    assert r[0][2].startswith("run "), r[0]
    assert any(w == "create partition" and isinstance(d, datetime.datetime) for d, w, _ in r), r
    due = [d for d, w, x in r if w == "retention" and x.startswith(f"rule {ops['ws_rule']} (keep ")]
    eq(len(due), 1)
    assert due[0] <= datetime.datetime.now(UTC) + datetime.timedelta(seconds=5), due


@check("activity.maintain: applies the retention rule (action 'deleted', its rows) and records the run in activity.maintenance_runs")
def _():
    r = rows(owner, "SELECT action, partition, rows, detail FROM activity.maintain()")
    deleted = [n for a, _, n, d in r if a == "deleted" and d.startswith(f"retention rule {ops['ws_rule']} (")]
    eq(deleted, [3])
    eq(one(owner, "SELECT count(*) FROM activity.activities WHERE workspace_id = %s", [OPS_W])[0], 0)
    run = one(owner, "SELECT run_by, deleted, error, jsonb_array_length(steps) FROM activity.maintenance_runs "
                     "ORDER BY run_id DESC LIMIT 1")
    eq(run, (OWNER, 3, None, len(r)))


@check("activity.remove_retention: an int, positional and named; a rule removed already gives False")
def _():
    eq(one(owner, "SELECT activity.remove_retention(%s)", [ops["typed_rule"]])[0], True)
    eq(one(owner, "SELECT activity.remove_retention(rule_id => %s)", [ops["ws_rule"]])[0], True)
    eq(one(owner, "SELECT activity.remove_retention(%s)", [ops["ws_rule"]])[0], False)
    eq(rows(owner, "SELECT rule_id FROM activity.retention_rules WHERE workspace_id = %s", [OPS_W]), [])


@check("activity.configure: hash_chain => True (a bool, named) turns the hash chain on")
def _():
    eq(one(owner, "SELECT hash_chain, retention FROM activity.configure(hash_chain => %s)", [True]), (True, None))


@check("activity.maintain: extends the hash chain (action 'chained'): every activity is chained; the run counts them")
def _():
    i = one(app, "SELECT activity.record(%s, %s, %s)", [CHAIN_W, TYPE_O, "py-ops"])[0]
    r = rows(owner, "SELECT action, rows FROM activity.maintain()")
    chained = sum(n for a, n in r if a == "chained")
    assert chained >= 1, r
    eq(one(owner, "SELECT workspace_id, seq FROM activity.hash_chain WHERE id = %s", [i]), (CHAIN_W, 1))
    eq(one(owner, "SELECT count(*) FROM activity.activities a "
                  "WHERE NOT EXISTS (SELECT 1 FROM activity.hash_chain h WHERE h.id = a.id)")[0], 0)
    eq(one(owner, "SELECT chained FROM activity.maintenance_runs ORDER BY run_id DESC LIMIT 1")[0], chained)


@check("activity.chain_digest: no argument, and a workspace (a str, named): each workspace's last link, 64 hex digits")
def _():
    r = rows(owner, "SELECT workspace, seq, chain, chained_at FROM activity.chain_digest()")
    assert r and all(re.fullmatch(r"[0-9a-f]{64}", c) and isinstance(t, datetime.datetime) for _, _, c, t in r), r
    mine = [x for x in r if x[0] == W]
    eq(len(mine), 1)
    eq(mine[0][1], one(owner, "SELECT count(*) FROM activity.activities WHERE workspace_id = %s", [W])[0])
    eq(rows(owner, "SELECT workspace, seq, chain, chained_at FROM activity.chain_digest(workspace_id => %s)", [W]), mine)


@check("activity.verify: no argument: [] after configure(hash_chain => True) and maintain()")
def _():
    eq(rows(owner, "SELECT workspace, seq, event_id, problem, detail FROM activity.verify()"), [])


@check("activity.verify: chain_digest()'s rows kept (jsonb read as a list) and passed back as Jsonb(list), named; an altered one is a 'digest mismatch'")
def _():
    kept = one(owner, "SELECT jsonb_agg(d) FROM activity.chain_digest() d")[0]
    assert isinstance(kept, list) and {d["workspace"] for d in kept} >= {W}, kept
    eq(rows(owner, "SELECT problem FROM activity.verify(digests => %s)", [Jsonb(kept)]), [])
    eq(rows(owner, "SELECT problem FROM activity.verify(workspace_id => %s, digests => %s)", [W, Jsonb(kept)]), [])
    altered = [dict(d, chain="0" * 64) if d["workspace"] == W else d for d in kept]
    r = rows(owner, "SELECT workspace, seq, problem FROM activity.verify(%s, %s)", [None, Jsonb(altered)])
    eq(r, [(W, next(d["seq"] for d in kept if d["workspace"] == W), "digest mismatch")])


def erase_fixture(workspace, member):
    """Activities naming `member`: initiator, recipient, in another's metadata (value and key); one not naming it."""
    record = "SELECT activity.record(%s, %s, %s, %s, recipient_id => %s)"
    return [one(app, record, [workspace, TYPE_O, member, Jsonb({"n": 1, "note": "mine"}), None])[0],
            one(app, record, [workspace, TYPE_O, "py-bob", Jsonb({"n": 2}), member])[0],
            one(app, record, [workspace, TYPE_O, "py-bob", Jsonb({"n": 3, "about": member, member: True}), None])[0],
            one(app, record, [workspace, TYPE_O, "py-bob", Jsonb({"n": 4}), None])[0]]


@check("activity.redact: positional str (workspace, member, reason) returns the events changed (an int); the member becomes a pseudonym")
def _():
    ids_ = erase_fixture(ERASE_W, "py-zoe")
    rows(owner, "SELECT * FROM activity.maintain()")            # chained before the erasure
    eq(one(owner, "SELECT activity.redact(%s, %s, %s)", [ERASE_W, "py-zoe", "ticket PY-1"])[0], 3)
    pseudonym, events, partitions = one(owner, "SELECT pseudonym, events, partitions FROM activity.redactions "
                                               "WHERE reason = %s", ["ticket PY-1"])
    assert re.fullmatch(r"redacted:[0-9a-f]{20}", pseudonym) and events == 3 and partitions, (pseudonym, partitions)
    got = {i: (a, b, m) for i, a, b, m in rows(app, "SELECT id, initiator_id, recipient_id, metadata FROM activity.activities "
                                                    "WHERE workspace_id = %s", [ERASE_W])}
    eq([got[i] for i in ids_], [(pseudonym, None, {}),                  # a party: no schema, no metadata left
                                ("py-bob", pseudonym, {}),
                                ("py-bob", None, {"n": 3, "about": pseudonym, pseudonym: True}),
                                ("py-bob", None, {"n": 4})])
    ops["erase_ids"] = ids_


@check("activity.redact: named notation, workspace_id None: every workspace")
def _():
    erase_fixture(ERASE_W, "py-kim")
    erase_fixture(ERASE_W2, "py-kim")
    eq(one(owner, "SELECT activity.redact(workspace_id => %s, member_id => %s, reason => %s)",
           [None, "py-kim", "ticket PY-2"])[0], 6)
    eq(one(owner, "SELECT workspace_id, events FROM activity.redactions WHERE reason = %s", ["ticket PY-2"]), (None, 6))


@check("activity.redact: as the application role, refused (42501); a reason naming the member (22023) and none (22004) refused")
def _():
    refused("42501", app, "SELECT activity.redact(%s, %s, %s)", [ERASE_W, "py-zoe", "ticket PY-3"])
    refused("22023", owner, "SELECT activity.redact(%s, %s, %s)", [ERASE_W, "py-zoe", "request of py-zoe"])
    refused("22004", owner, "SELECT activity.redact(%s, %s, %s)", [ERASE_W, "py-zoe", None])


@check("activity.redact: an erased initiator's metadata loses the properties its schema marks \"x-personal\": true (nested too), keeps the rest")
def _():
    one(owner, "SELECT activity.register_type(%s, %s)", [TYPE_X, "A profile changed (psycopg operations)."])
    one(owner, "SELECT activity.register_schema(%s, %s)", [TYPE_X, Jsonb(
        {"type": "object",
         "properties": {"n": {"type": "integer"},
                        "email": {"type": "string", "x-personal": True},
                        "address": {"type": "object",
                                    "properties": {"street": {"type": "string", "x-personal": True},
                                                   "city": {"type": "string"}}}}})])
    i = one(app, "SELECT activity.record(%s, %s, %s, %s)",
            [ERASE_W, TYPE_X, "py-lou", Jsonb({"n": 1, "email": "lou@example.com",
                                               "address": {"street": "1 Main St", "city": "Lyon"}})])[0]
    eq(one(owner, "SELECT activity.redact(%s, %s, %s)", [ERASE_W, "py-lou", "ticket PY-4"])[0], 1)
    eq(one(app, "SELECT metadata FROM activity.activities WHERE id = %s", [i])[0], {"n": 1, "address": {"city": "Lyon"}})


@check("activity.verify: a workspace (a str), after redact(): [] (the chain keeps the redacted digests)")
def _():
    eq(rows(owner, "SELECT workspace, seq, event_id, problem FROM activity.verify(%s)", [ERASE_W]), [])
    eq(one(owner, "SELECT count(*) FROM activity.hash_chain WHERE id = ANY(%s) AND redaction IS NOT NULL",
           [ops["erase_ids"]])[0], 3)
    rows(owner, "SELECT * FROM activity.maintain()")
    eq(rows(owner, "SELECT workspace, seq, event_id, problem FROM activity.verify()"), [])


print(f"1..{n_tests}")
sys.exit(1 if n_failed else 0)
