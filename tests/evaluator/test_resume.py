"""A run killed with SIGKILL in the middle and resumed: every case it had
is never sent again, every case it lacked is sent exactly once, and no
finished result is lost."""
import os
import signal
import sqlite3
import subprocess
import time

from assaytest import ASSAY, check, main
from evalsetup import add_model, make_catalog, server

N = 40


def ok_cases(env):
    db = sqlite3.connect(os.path.join(env.data, "assay.db"), timeout=10)
    try:
        return {r[0] for r in db.execute("SELECT case_id FROM items WHERE run_id = 1 AND status = 'ok'")}
    except sqlite3.OperationalError:
        return set()
    finally:
        db.close()


def start_eval(env, srv, concurrency, wait_ok, text=False):
    """A catalog, a model on srv and 'assay eval' started in the background,
    returned once the run has wait_ok answers."""
    make_catalog(env, sum_n=N)
    add_model(env, "m1", srv, "--concurrency", str(concurrency))
    proc = subprocess.Popen([ASSAY, "--data", env.data, "eval", "summ"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text)
    deadline = time.time() + 60
    while len(ok_cases(env)) < wait_ok and time.time() < deadline:
        time.sleep(0.02)
    return proc


def kill_and_resume(env, kill_after):
    srv = server({"latency_ms": 150})
    try:
        proc = start_eval(env, srv, 4, kill_after)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        had = ok_cases(env)
        check(kill_after <= len(had) < N, len(had))
        time.sleep(0.5)     # requests in flight at the kill reach the server and end
        before = srv.calls
        check(all(before[c] == 1 for c in had), before)
        st = env.ok("runs", "show", "1", "--json").json()
        check(st["status"] == "running" and st["items_done"] == len(had), st)
        env.ok("eval", "--resume", "1")
        after = srv.calls
        for i in range(N):
            c = "s%d" % i
            if c in had:
                check(after[c] == 1, (c, after[c]))          # never again
            else:
                check(after[c] - before.get(c, 0) == 1, (c, before.get(c), after[c]))
        s = env.ok("runs", "show", "1", "--items", "--json").json()
        check(s["status"] == "complete" and s["items_ok"] == N and len(s["items"]) == N, s["status"])
        check(len({i["case_id"] for i in s["items"]}) == N)
        check(s["busy_s"] > 0, s["busy_s"])
        # resuming a complete run sends nothing
        env.ok("eval", "--resume", "1")
        check(srv.calls == after, srv.calls)
    finally:
        srv.stop()


def test_kill9_early_and_resume(env):
    kill_after = 4
    kill_and_resume(env, kill_after)


def test_kill9_late_and_resume(env):
    kill_and_resume(env, N - 8)


def test_interrupt_cancels_then_resume(env):
    srv = server({"latency_ms": 150})
    try:
        proc = start_eval(env, srv, 4, 8, text=True)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        check(proc.returncode == 1 and "canceled" in err, (proc.returncode, err))
        s = env.ok("runs", "show", "1", "--json").json()
        had = ok_cases(env)
        check(s["status"] == "canceled" and 8 <= s["items_ok"] == len(had) < N, s["status"])
        time.sleep(0.5)
        before = srv.calls
        env.ok("eval", "--resume", "1")
        after = srv.calls
        check(all(after[c] == before[c] for c in had), "a finished case was sent again")
        check(all(after["s%d" % i] >= 1 for i in range(N)))
        check(env.ok("runs", "show", "1", "--json").json()["status"] == "complete")
    finally:
        srv.stop()


def test_one_job_per_run(env):
    """While one process works on a run, resuming or removing it elsewhere
    is refused with one line (no case is sent twice) and the run shows as in
    progress; once its owner is killed it shows as interrupted and is free
    again."""
    srv = server({"latency_ms": 150})
    try:
        proc = start_eval(env, srv, 2, 2)
        env.fails("eval", "--resume", "1", contains="run 1 is in progress in another job")
        env.fails("runs", "rm", "1", contains="run 1 is in progress")
        s = env.ok("runs", "show", "1", "--json").json()
        check(s["status"] == "running" and s["in_progress"] is True, s)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        had = ok_cases(env)
        # still 'running' in the database, but no job holds it: interrupted
        s = env.ok("runs", "show", "1", "--json").json()
        check(s["status"] == "running" and s["in_progress"] is False, s)
        check("interrupted" in env.ok("runs", "list").out)
        time.sleep(0.5)
        before = srv.calls
        # the killed owner's lock went with it: two resumes at once, one works
        a = subprocess.Popen([ASSAY, "--data", env.data, "eval", "--resume", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        b = subprocess.Popen([ASSAY, "--data", env.data, "eval", "--resume", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        (_, ea), (_, eb) = a.communicate(timeout=120), b.communicate(timeout=120)
        check(sorted([a.returncode, b.returncode]) == [0, 1], (a.returncode, ea, b.returncode, eb))
        check("in progress in another job" in (ea + eb), (ea, eb))
        after = srv.calls
        for i in range(N):
            c = "s%d" % i
            check(after[c] - before.get(c, 0) == (0 if c in had else 1), (c, before.get(c), after[c]))
        check(env.ok("runs", "show", "1", "--json").json()["status"] == "complete")
    finally:
        srv.stop()


if __name__ == "__main__":
    main([test_kill9_early_and_resume, test_kill9_late_and_resume, test_interrupt_cancels_then_resume,
          test_one_job_per_run])
