"""A stage on a machine that does not share the orchestrator's checkout.

The orchestrator hands the worker a `Handoff`: the git repository and commit it runs, its
params.yaml and dvc.lock as they are now (the stages before this one ran after the commit),
and its DVC remote. The worker clones that commit into a workspace of its own, pulls the
outputs of the stages it depends on from the DVC remote, runs the stage, and pushes its
outputs together with its run-cache entry. The orchestrator then restores the stage from the
run cache (`dvc repro --pull`), which writes the same dvc.lock entry and checks out the same
outputs as if the stage had run there; the stage command itself must not start there
(``reactdiff.cli.RESTORE_ONLY_ENV``), so a missing upload fails instead of training again on a
CPU.

Kept free of Prefect, like flows.dvc_stages, so each step can be tested on its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flows.dvc_stages import default_remote
from reactdiff.atomic import write_text
from reactdiff.dvc_pipeline import is_pipeline_output, pipeline_outputs
from reactdiff.errors import ReactdiffError

# what the orchestrator's workspace may have changed since its commit: the worker gets both
HANDED_FILES = ("params.yaml", "dvc.lock")
WORKSPACES_ENV = "REACTDIFF_WORKSPACES"  # where a worker keeps its workspaces
DEFAULT_WORKSPACES = Path("~/.cache/reactdiff/workspaces")
REMOTE_ENV = "REACTDIFF_DVC_REMOTE"  # the DVC remote as this worker reaches it, if elsewhere
WORKSPACE_REMOTE = "pipeline"  # the remote's name in a workspace's .dvc/config.local


class WorkspaceError(ReactdiffError, RuntimeError):
    """The workspace cannot be handed over or made; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class Handoff:
    """What a worker needs to run a stage as the orchestrator would (JSON-able: a flow
    parameter)."""

    repository: str  # a URL or path `git clone` accepts on the worker
    commit: str
    files: dict[str, str]  # HANDED_FILES present in the orchestrator's workspace, by name
    dvc_remote: str  # the URL of the orchestrator's default DVC remote

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _git(args: list[str], cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise WorkspaceError(f"`git {' '.join(args)}` in {cwd} failed: {detail}")
    return done.stdout.rstrip()  # not lstrip: `git status --porcelain` lines start with a space


def make_handoff(repo: Path) -> Handoff:
    """The handoff of ``repo`` as it is now; refuses a work tree whose code or pipeline differs
    from its commit (the worker would run other code) beyond what the stages write and the
    handed files, and a missing DVC remote (the worker would get no inputs)."""
    commit = _git(["rev-parse", "HEAD"], repo)
    status = _git(["status", "--porcelain", "--untracked-files=all"], repo).splitlines()
    outputs = pipeline_outputs(repo)  # written by the stages (and their .gitignore entries)
    changed = sorted(
        path
        for path in (line[3:] for line in status)
        if path not in HANDED_FILES
        and Path(path).name != ".gitignore"
        and not is_pipeline_output(path, outputs)
    )
    if changed:
        shown = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more" if changed[10:] else "")
        raise WorkspaceError(
            f"the worker clones commit {commit[:12]}, but {len(changed)} file(s) in {repo} "
            f"differ from it: {shown}. Commit them (and push them where the worker clones "
            "from) first."
        )
    origin = subprocess.run(
        ["git", "config", "--get", "remote.origin.url"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    remote = default_remote(repo)
    if remote is None:
        raise WorkspaceError(
            f"{repo} has no default DVC remote: the worker gets the stage's inputs and returns "
            "its outputs through one (`make remote`, or `dvc remote add -d NAME URL`)"
        )
    files = {name: (repo / name).read_text() for name in HANDED_FILES if (repo / name).exists()}
    return Handoff(origin or str(repo.resolve()), commit, files, remote.url)


def workspaces_root(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get(WORKSPACES_ENV) or DEFAULT_WORKSPACES).expanduser()


def workspace_path(root: Path, repository: str) -> Path:
    """One workspace per repository under ``root``, reused run after run (its DVC cache too)."""
    stem = re.sub(r"[^\w.-]", "-", repository.rstrip("/").rsplit("/", 1)[-1]) or "repo"
    digest = hashlib.sha1(repository.encode()).hexdigest()[:10]
    return root / f"{stem.removesuffix('.git')}-{digest}"


def prepare(handoff: Handoff, root: Path, env: Mapping[str, str] = os.environ) -> Path:
    """The workspace at ``handoff.commit`` with the orchestrator's handed files and DVC remote;
    cloned on first use, fetched and checked out after."""
    workspace = workspace_path(root, handoff.repository)
    if (workspace / ".git").is_dir():
        origin = _git(["config", "--get", "remote.origin.url"], workspace)
        if origin != handoff.repository:
            raise WorkspaceError(
                f"workspace {workspace} clones {origin}, not {handoff.repository}; remove it"
            )
        _git(["fetch", "--quiet", "origin"], workspace)
    else:
        workspace.parent.mkdir(parents=True, exist_ok=True)
        _git(["clone", "--quiet", "--no-checkout", handoff.repository, str(workspace)], root)
    try:
        _git(["cat-file", "-e", f"{handoff.commit}^{{commit}}"], workspace)
    except WorkspaceError:
        try:
            _git(["fetch", "--quiet", "origin", handoff.commit], workspace)
        except WorkspaceError as err:
            raise WorkspaceError(
                f"commit {handoff.commit[:12]} is not in {handoff.repository}: push it there "
                f"first ({err})"
            ) from None
    _git(["checkout", "--quiet", "--force", "--detach", handoff.commit], workspace)
    for name in HANDED_FILES:
        if name in handoff.files:
            write_text(workspace / name, handoff.files[name])
        else:
            (workspace / name).unlink(missing_ok=True)
    url = env.get(REMOTE_ENV) or handoff.dvc_remote
    done = subprocess.run(
        ["dvc", "remote", "add", "--local", "--default", "--force", WORKSPACE_REMOTE, url],
        cwd=workspace,
        env=dict(env),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise WorkspaceError(f"cannot set the DVC remote {url} in {workspace}: {done.stderr}")
    return workspace


def push_uncached_outputs(workspace: Path, stage: str) -> int:
    """Push the stage's `cache: false` outputs (metrics, plot data) to the DVC remote; returns
    how many. The stage's run-cache entry names them and DVC keeps a copy in the local cache,
    but `dvc push --run-cache` sends neither them nor anything else of the entry's objects
    that `dvc push <stage>` leaves out, and the run cache cannot be restored without them."""
    from dvc.repo import Repo

    with Repo(str(workspace)) as dvc:
        (definition,) = dvc.stage.collect(f"{workspace / 'dvc.yaml'}:{stage}")
        objects = [out.hash_info for out in definition.outs if not out.use_cache]
        result = dvc.cloud.push(objects)
    if result.failed:
        raise WorkspaceError(f"could not push {len(result.failed)} output(s) of {stage!r}")
    return len(objects)
