"""python -m tools.manifests: render, lint, validate and check everything; exit 1 on any problem."""

from __future__ import annotations

import sys
import time

from tools.manifests import checkov, checks, compare, generate, render, schemas
from tools.manifests.model import Problem


def run() -> tuple[list[str], list[Problem]]:
    """(summary lines, problems) of every stage."""
    versions = render.versions()
    lines: list[str] = []
    problems: list[Problem] = []

    start = time.monotonic()
    stale = generate.differences()
    problems += [Problem("make manifests", "", "", "", message) for message in stale]
    lines.append(f"generated files (make manifests) current: {len(stale)} problem(s)")
    for values_file in render.CHART_VALUES.values():
        found = render.lint_chart(values_file, versions["KUBERNETES_VERSION"])
        problems += found
        lines.append(
            f"helm lint --strict ({values_file or 'values.yaml'}): {len(found)} problem(s)"
        )
    problems += checks.check_chart_versions(render.CHART_DIR, versions)

    renderings, found = render.render_all()
    problems += found

    kubernetes = schemas.KubernetesValidator(versions["KUBERNETES_VERSION"])
    crds = schemas.CrdValidator(schemas.crds_dir(), kubernetes)
    ctx = checks.load_context(versions)
    for r in renderings:
        found = schemas.validate(r, kubernetes, crds) + checks.check_rendering(r, ctx)
        problems += found
        kinds = sorted({o["kind"] for o in r.all_objects()})
        lines.append(
            f"{r.source}: {len(r.all_objects())} objects ({', '.join(kinds)}): {len(found)} problem(s)"
        )

    by_source = {r.source: r for r in renderings}
    for flavour in ("kind", "gpu"):
        helm, kustomize = by_source.get(f"helm:{flavour}"), by_source.get(f"kustomize:{flavour}")
        if helm and kustomize:
            found = list(compare.compare_helm_kustomize(helm, kustomize))
            problems += found
            lines.append(
                f"{helm.source} and {kustomize.source} deploy the same objects, spec included: "
                f"{len(found)} problem(s)"
            )

    report = checkov.scan(renderings)
    problems += report.problems
    lines.append(
        f"checkov {report.version} (offline) over {len(renderings)} renderings: "
        f"{report.passed} passed, {report.failed} failed, {report.skipped} skipped with a reason; "
        f"{report.seconds:.1f}s"
    )

    found = checks.check_imports(renderings)
    problems += found
    lines.append(
        f"entrypoint modules, jobs.cli commands and Serve import_path import: {len(found)} problem(s)"
    )
    lines.append(
        f"schemas: Kubernetes {kubernetes.version} (kubernetes-validate, strict), "
        f"KubeRay CRDs from {crds.directory}; {time.monotonic() - start:.1f}s"
    )
    return lines, problems


def main() -> int:
    try:
        lines, problems = run()
    except schemas.SchemaSetupError as exc:
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
