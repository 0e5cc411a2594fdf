"""The tracking repository's side of container/tracking.py: runs INSIDE a session, as root.

Sent with `python3 -I -c SOURCE COMMAND [ARGS...]` (standard library only, Python 3.11 as in
Debian bookworm), so the image needs nothing extra and every operation is one docker exec.
SOURCE is container/scripts/bootstrap.py followed by the text of every module of this package:
it makes each module from its text, in the order of PARTS (each after those it imports), and
runs `main.main`. Nothing is written in the container and nothing is imported from a path
there but the standard library (`-I`: no PYTHON* variables, no cwd on sys.path; the package
has no `__path__` to search).

The repository is GIT_DIR=/var/lib/claudex/track.git with the work tree /workspace. Only root
can enter /var/lib/claudex (0700), so the agent can neither rewrite the history nor the
baseline id, which is read from a file there (never from a ref) for every diff. No git command
ever runs with a user's own `.git` as its GIT_DIR: git never tracks a `.git` entry, and a
directory holding a repository of its own (which `git add` would record as a gitlink) has its
files listed from the inside and added one by one with `update-index`.

Everything in the work tree is the agent's, so nothing there may steer what is recorded:
- Attributes: `info/attributes` of the tracking repository (git's highest precedence) resets
  every attribute for every path, so no `.gitattributes` can turn a text file binary, pick a
  diff driver or textconv, or convert contents on the way in; diffs run as in a bare
  repository (no work tree: no `.gitattributes` is even read) with --no-ext-diff --no-textconv.
- Ignores: new files are listed with the ignore rules of the BASELINE (the user's `.gitignore`
  files as recorded then, rewritten into one exclude file per listing root), never the work
  tree's current ones; `.gitignore` and `.gitattributes` files themselves are never ignored,
  so editing them shows. The user's `core.excludesFile` and `.git/info/exclude` are not read.
- Named pipes: git opens work-tree files after checking they are regular (a file swapped for
  a FIFO in between, a FIFO `.gitattributes` or `.git/HEAD`): a watch on each git that reads
  the work tree wakes a FIFO open with an empty write end, and stops git (with a message
  naming the pipe) when something holds the pipe open without writing.
- Names git refuses (`.GIT/x`, a symlinked `.gitmodules`) cannot be recorded: they are left
  out, counted and named in the repositories report, never a failed refresh.
- A file replaced by a FIFO, a socket or a directory, or behind a symlinked directory, is
  recorded as deleted; a file that changes while hashed makes the refresh start again.
- The mounted repositories' own refs and the files in `.git` that make git run programs are
  read by a child running as the AGENT (never root): at the baseline, then for the report.

Exit codes: 0 ok, 2 failure (message on stderr), 3 no baseline yet.
"""

# The modules, each after the ones it imports: the order the bootstrap makes them in.
PARTS = (
    "errors",
    "layout",
    "fifo_watch",
    "git_run",
    "repository",
    "ignores",
    "index_file",
    "refresh",
    "agent_child",
    "mounted_repos",
    "commands",
    "main",
)
