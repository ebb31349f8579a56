"""The binary's shell: help, usage errors, exit codes, data directory, db."""
import os
import sqlite3
import subprocess

from assaytest import ASSAY, check, main


def help_lists_commands(env):
    r = env.ok("help", data=False)
    check("db" in r.out and "usage: assay" in r.out, r.out)
    r = env.ok("db", "--help")
    check("assay db migrate" in r.out)


def unknown_command_is_usage_error(env):
    env.fails("frobnicate", code=2, contains="unknown command 'frobnicate'")
    env.fails("db", code=2)
    env.fails("db", "status", "--bogus", code=2, contains="--bogus")


def data_dir_from_env_and_flag(env):
    other = env.path("elsewhere")
    r = env.run("db", "migrate", data=False, env={"ASSAY_DATA": other})
    check(r.code == 0, repr(r))
    check(os.path.exists(os.path.join(other, "assay.db")))
    env.ok("db", "migrate")
    check(os.path.exists(os.path.join(env.data, "assay.db")))
    r = env.ok("db", "migrate", data=False, cwd=env.root)
    check(os.path.exists(env.path("assay-data", "assay.db")), "default ./assay-data")


def db_status_reports_version(env):
    env.ok("db", "migrate")
    st = env.ok("db", "status", "--json").json()
    check(st["version"] == st["latest"] and st["version"] >= 1, st)
    con = env.db()
    check(con.execute("PRAGMA user_version").fetchone()[0] == st["version"])
    check(con.execute("PRAGMA journal_mode").fetchone()[0] == "wal")


def newer_database_is_refused(env):
    env.ok("db", "migrate")
    con = sqlite3.connect(os.path.join(env.data, "assay.db"))
    con.execute("PRAGMA user_version = 999")
    con.commit()
    con.close()
    env.fails("db", "status", contains="newer than this assay")


def corrupt_database_is_refused(env):
    os.makedirs(env.data)
    with open(os.path.join(env.data, "assay.db"), "w") as f:
        f.write("not a database " * 100)
    env.fails("db", "status", contains="assay.db")


def output_that_cannot_be_written_is_an_error(env):
    """A result written to a full disk is an error, not a quiet success."""
    env.ok("db", "migrate")
    for args, stdin in ((["metrics", "rouge"], b'{"prediction": "a b", "reference": "a c"}\n'),
                        (["db", "status", "--json"], b""), (["help"], b"")):
        with open("/dev/full", "wb") as full:
            p = subprocess.run([ASSAY, "--data", env.data] + args, input=stdin, stdout=full,
                               stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode()
        check(p.returncode == 1 and err.count("\n") == 1 and
              "writing the output: No space left on device" in err, (args, p.returncode, err))


main([help_lists_commands, unknown_command_is_usage_error, data_dir_from_env_and_flag,
      db_status_reports_version, newer_database_is_refused, corrupt_database_is_refused,
      output_that_cannot_be_written_is_an_error])
