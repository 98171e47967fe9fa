#!/usr/bin/python3
# nlsec-pty.py TRANSCRIPT TIMEOUT SCRIPT -- CMD...
#
# The "caller's terminal" of the console-injection tests: runs CMD as a session leader on a fresh
# pty (its controlling terminal, stdin, stdout and stderr), the way a person's shell runs in a
# terminal emulator, and plays SCRIPT against it:
#   expect REGEX [SECONDS]   wait until the output so far matches REGEX (default 20 s), else fail
#   send TEXT                write TEXT to the terminal (\n, \r, \x1d… escapes understood)
#   sleep SECONDS
# Everything CMD writes goes to TRANSCRIPT. Exit status: CMD's; 124 when TIMEOUT passed (CMD's
# process group is then killed); 125 when an "expect" failed.
import os, re, select, signal, sys, termios, time, fcntl, struct


def main():
    transcript, timeout, script = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    if sys.argv[4] != "--":
        sys.exit("usage: nlsec-pty.py TRANSCRIPT TIMEOUT SCRIPT -- CMD...")
    cmd = sys.argv[5:]
    steps = []
    with open(script) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            verb, _, arg = line.partition(" ")
            steps.append((verb, arg))

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.closerange(3, 65536)
        os.environ["TERM"] = "vt100"
        os.execvp(cmd[0], cmd)
    os.close(slave)
    out = open(transcript, "wb")
    seen = b""
    deadline = time.monotonic() + timeout
    status = None

    # pump: None when nothing came within wait, True when something was read, False at EOF.
    def pump(wait):
        nonlocal seen
        r, _, _ = select.select([master], [], [], wait)
        if master not in r:
            return None
        try:
            data = os.read(master, 65536)
        except OSError:
            return False
        if not data:
            return False
        out.write(data)
        out.flush()
        seen += data
        return True

    def reap():
        nonlocal status
        if status is None:
            p, st = os.waitpid(pid, os.WNOHANG)
            if p == pid:
                status = os.waitstatus_to_exitcode(st)
        return status is not None

    failed = False
    cursor = 0  # each expect looks at what came after the previous match
    for verb, arg in steps:
        if verb == "expect":
            m = re.match(r"(.*?)(?:\s+(\d+(?:\.\d+)?))?$", arg)
            pat, secs = re.compile(m.group(1).encode()), float(m.group(2) or 20)
            end = min(time.monotonic() + secs, deadline)
            while not pat.search(seen, cursor) and time.monotonic() < end:
                if pump(0.05) is False and reap():
                    break
            found = pat.search(seen, cursor)
            if not found:
                out.write(b"\n[nlsec-pty: expect %s failed]\n" % m.group(1).encode())
                failed = True
                break
            cursor = found.end()
        elif verb == "send":
            os.write(master, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif verb == "sleep":
            end = time.monotonic() + float(arg)
            while time.monotonic() < end:
                pump(0.05)
        else:
            sys.exit("nlsec-pty.py: unknown step " + verb)

    while not reap() and time.monotonic() < deadline:
        pump(0.05)
    drain_end = time.monotonic() + 2
    while pump(0.05) and time.monotonic() < drain_end:  # what is left to read
        pass
    if status is None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(pid, 0)
        out.write(b"\n[nlsec-pty: timeout]\n")
        sys.exit(124)
    out.close()
    sys.exit(125 if failed else (status if status >= 0 else 128 - status))


main()
