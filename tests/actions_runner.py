"""Run a composite action's steps the way the GitHub Actions runner does, for tests.

Only what pinner's own ``action.yml`` needs, and nothing silently: ``run:`` steps are executed by
``bash --noprofile --norc -eo pipefail FILE`` (the runner's ``shell: bash``) with the runner's
environment (``GITHUB_*``, ``RUNNER_TEMP``, the workspace as working directory) and the step's
``env:``; ``GITHUB_OUTPUT`` files are read back into ``steps.<id>.outputs``; ``uses:`` steps are
recorded with their evaluated ``with:`` (a test asserts on them) instead of being run. Expressions
may use ``inputs.*``, ``steps.<id>.outputs.*``, ``github.token``, string literals, ``==`` and
``!=``; anything else fails the test, so the action cannot quietly depend on something this
runner does not emulate.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

_EXPR_RE = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_COMPARE_RE = re.compile(r"^(.+?)\s*(==|!=)\s*(.+)$")


@dataclass
class StepResult:
    name: str
    status: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class ActionRun:
    """What running the action's steps did."""

    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    uses: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    failed: str | None = None  # the name of the step that failed the action

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    @property
    def stderr(self) -> str:
        return "".join(s.stderr for s in self.steps)


def load_action(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


class Expressions:
    """The expression contexts of one run of the action."""

    def __init__(self, inputs: dict[str, str], token: str, outputs: dict[str, dict[str, str]]):
        self.inputs = inputs
        self.token = token
        self.outputs = outputs

    def value(self, term: str) -> str:
        term = term.strip()
        if len(term) >= 2 and term[0] == term[-1] == "'":
            return term[1:-1].replace("''", "'")
        parts = term.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return self.inputs[parts[1]]
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return self.outputs.get(parts[1], {}).get(parts[3], "")
        if term == "github.token":
            return self.token
        raise AssertionError(f"the test runner does not emulate the expression {term!r}")

    def evaluate(self, expression: str) -> str | bool:
        compare = _COMPARE_RE.match(expression.strip())
        if compare:
            left, op, right = compare.groups()
            equal = self.value(left) == self.value(right)
            return equal if op == "==" else not equal
        return self.value(expression)

    def substitute(self, text: str) -> str:
        return _EXPR_RE.sub(lambda m: str(self.evaluate(m.group(1))), text)

    def condition(self, text: str) -> bool:
        inner = _EXPR_RE.fullmatch(text.strip())
        result = self.evaluate(inner.group(1) if inner else text)
        assert isinstance(result, bool), f"if: {text!r} is not a condition the runner emulates"
        return result


def read_outputs(path: Path) -> dict[str, str]:
    """A ``GITHUB_OUTPUT`` file: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            outputs[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def run_action(
    action_dir: Path,
    *,
    inputs: dict[str, str],
    workspace: Path,
    runner_temp: Path,
    env: dict[str, str],
    done: dict[str, dict[str, str]] | None = None,
    stop_after: str | None = None,
    timeout: float = 600,
) -> ActionRun:
    """Run ``action_dir/action.yml`` on ``workspace``; steps whose id is in ``done`` are taken
    as already run with those outputs (so a test can install once and run many times), and
    the run ends after the step whose id is ``stop_after``."""
    action = load_action(action_dir / "action.yml")
    declared = action.get("inputs", {})
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    token = env.get("GITHUB_TOKEN_FOR_TEST", "")
    result = ActionRun(outputs={k: dict(v) for k, v in (done or {}).items()})
    bare = Expressions({}, token, result.outputs)
    resolved = {
        name: inputs.get(name, bare.substitute(str(spec.get("default", ""))))
        for name, spec in declared.items()
    }
    ctx = Expressions(resolved, token, result.outputs)
    runner_env = {
        **{k: v for k, v in env.items() if k != "GITHUB_TOKEN_FOR_TEST"},
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTION_PATH": str(action_dir),
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(runner_temp),
    }
    for number, step in enumerate(action["runs"]["steps"]):
        name = step.get("name", f"step {number}")
        step_id = step.get("id", f"__{number}")
        if step_id in (done or {}):
            continue
        if "if" in step and not ctx.condition(str(step["if"])):
            continue
        if "uses" in step:
            with_ = {k: ctx.substitute(str(v)) for k, v in step.get("with", {}).items()}
            result.uses.append((step["uses"], with_))
            continue
        assert step.get("shell") == "bash", f"{name}: only shell: bash is emulated"
        files = {}
        for var in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"):
            files[var] = runner_temp / f"_runner_{number}_{var.lower()}"
            files[var].write_text("")
        script = runner_temp / f"_runner_step_{number}.sh"
        script.write_text(step["run"], encoding="utf-8")
        step_env = {k: ctx.substitute(str(v)) for k, v in step.get("env", {}).items()}
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env={**runner_env, **{k: str(v) for k, v in files.items()}, **step_env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result.steps.append(StepResult(name, proc.returncode, proc.stdout, proc.stderr))
        result.outputs[step_id] = read_outputs(files["GITHUB_OUTPUT"])
        assert files["GITHUB_ENV"].read_text() == "", f"{name} must not change the job's env"
        assert files["GITHUB_PATH"].read_text() == "", f"{name} must not change the job's PATH"
        if proc.returncode != 0:
            result.failed = name
            break
        if step_id == stop_after:
            break
    return result


def runner_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment like a runner's: PATH and HOME, and no token of the developer's."""
    source = os.environ if base is None else base
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {k: source[k] for k in keep if k in source}
