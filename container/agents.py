"""The agents a session can run: the names the CLI, the config and the form offer, and how the
dashboard names them. Kept free of imports: the CLI's parser reads it at every start."""

from __future__ import annotations

# What `--agent` accepts, in the order the form lists them (the shell third, as before the
# newer agents came); init.sh in the image starts each (keep them in step).
AGENTS = ("claude", "codex", "shell", "gemini", "copilot", "opencode")

AGENT_NAMES = {
    "claude": "Claude Code",
    "codex": "Codex",
    "gemini": "Gemini CLI",
    "copilot": "GitHub Copilot CLI",
    "opencode": "opencode",
    "shell": "the shell",
}
