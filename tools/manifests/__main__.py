"""python -m tools.manifests [FILE ...|-]: check Kubernetes manifests; exit 1 on any problem.

Without arguments: everything the repository ships (helm lint, the chart
rendered with each values file, the kustomize overlays; whether the generated
files are current is `python -m tools.generate --check`'s to say). With FILEs,
or - for standard input, the rendered YAML given, with the same rules, e.g.

    kubectl kustomize my-overlay | python -m tools.manifests -
    kubectl kustomize k8s/overlays/kind | python -m tools.manifests --kind -
    helm template ray101 helm/ray101 -f my-values.yaml | scripts/check-manifests -
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from tools import chart
from tools.manifests import checkov, checks, render, schemas
from tools.manifests import crds as crd_dirs
from tools.manifests.model import Problem, Rendered


def _repository(versions: dict[str, str], lines: list[str]) -> tuple[list[Rendered], list[Problem]]:
    """The repository's own renderings, and what is wrong before rendering."""
    problems: list[Problem] = []
    for values_file in render.CHART_VALUES.values():
        found = render.lint_chart(values_file, versions["KUBERNETES_VERSION"])
        problems += found
        lines.append(
            f"helm lint --strict ({values_file or 'values.yaml'}): {len(found)} problem(s)"
        )
    problems += checks.check_chart_versions(chart.CHART_DIR, versions)
    renderings, found = render.render_all()
    return renderings, problems + found


def _given(paths: Sequence[str]) -> list[Rendered]:
    """Rendered YAML from files, or standard input for "-"."""
    renderings = []
    for path in paths:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
        renderings.append(
            Rendered("stdin" if path == "-" else path, chart.parse_documents(text), "given")
        )
    return renderings


def run(paths: Sequence[str] = (), kind: bool = False) -> tuple[list[str], list[Problem]]:
    """(summary lines, problems) of every stage."""
    versions = chart.versions()
    lines: list[str] = []
    start = time.monotonic()
    if paths:
        renderings, problems = _given(paths), []
    else:
        renderings, problems = _repository(versions, lines)

    kubernetes = schemas.KubernetesValidator(versions["KUBERNETES_VERSION"])
    crds = schemas.CrdValidator(crd_dirs.directories(versions), kubernetes)
    ctx = checks.load_context(versions)
    for r in renderings:
        given = checks.Expect(gpu="any", all_parts=False, kind_cluster=kind)
        expect = checks.EXPECT.get(r.source, given)
        found = schemas.validate(r, kubernetes, crds) + checks.check_rendering(r, ctx, expect)
        problems += found
        kinds = sorted({o.get("kind", "?") for o in r.all_objects()})
        lines.append(
            f"{r.source}: {len(r.all_objects())} objects ({', '.join(kinds)}): {len(found)} problem(s)"
        )

    report = checkov.scan(renderings)
    problems += report.problems
    lines.append(
        f"checkov {report.version} (offline) over {len(renderings)} rendering(s): "
        f"{report.passed} passed, {report.failed} failed, {report.skipped} skipped with a reason; "
        f"{report.seconds:.1f}s"
    )

    found = list(checks.check_imports(renderings))
    problems += found
    lines.append(
        f"entrypoint modules, jobs.cli commands and Serve import_path import: {len(found)} problem(s)"
    )
    lines.append(
        f"schemas: Kubernetes {kubernetes.version} (kubernetes-validate, strict), "
        f"CRDs from {', '.join(map(str, crds.directories))}; {time.monotonic() - start:.1f}s"
    )
    return lines, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.manifests",
        description="Check Kubernetes manifests: the repository's, or rendered YAML from FILEs or - (stdin).",
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="rendered YAML; - reads standard input"
    )
    parser.add_argument(
        "--kind",
        action="store_true",
        help="the YAML is for kind: the project image comes from `kind load`, not a registry",
    )
    args = parser.parse_args(argv)
    if args.kind and not args.files:
        parser.error("--kind applies to rendered YAML given as FILE or -")
    try:
        lines, problems = run(args.files, args.kind)
    except schemas.SchemaSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print("\nall manifests OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
