"""Loading an image from docker into the kind cluster (scripts/lib/kind.sh's
kind_load_image), with stand-ins for docker and kind: streamed to each worker
that lacks the build, never through an archive on disk, and refused up front,
saying so, where docker's disk cannot take it."""

from __future__ import annotations

from pathlib import Path

from tests.repo.scripts_support import run_lib


def _loader_bins(bin_dir: Path, image_size: int) -> Path:
    """A docker holding one image (ID sha256:new) whose `save` prints its bytes,
    with the node ray101-worker holding it already and ray101-worker2 an older
    build; a kind that records what each `load image-archive` read, and from where."""
    bin_dir.mkdir()
    loads = bin_dir / "loads"
    loads.mkdir()
    (bin_dir / "docker").write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        "  'image inspect --format {{.Id}} '*) echo sha256:new ;;\n"
        f"  'image inspect --format {{{{.Size}}}} '*) echo {image_size} ;;\n"
        f"  'info --format {{{{.DockerRootDir}}}}') echo {bin_dir} ;;\n"
        "  'exec ray101-worker crictl '*) echo sha256:new ;;\n"
        "  'exec ray101-worker2 crictl '*) echo sha256:old ;;\n"
        "  'save --help') echo 'Usage: docker save [OPTIONS] IMAGE' ;;\n"
        '  save*) echo "the layers of $2" ;;\n'
        "  *) exit 1 ;;\n"
        "esac\n"
    )
    (bin_dir / "kind").write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        "  'get nodes') printf 'ray101-control-plane\\nray101-worker\\nray101-worker2\\n' ;;\n"
        '  "load image-archive") node="$(echo "$*" | sed \'s/.*--nodes //\')";'
        f' {{ echo "$3"; cat "$3"; }} > "{loads}/$node" ;;\n'
        "  *) exit 1 ;;\n"
        "esac\n"
    )
    for name in ("docker", "kind"):
        (bin_dir / name).chmod(0o755)
    return loads


def test_an_image_is_streamed_to_each_worker_that_lacks_it(tmp_path):
    loads = _loader_bins(tmp_path / "bin", image_size=1000)
    (tmp_path / "tmp").mkdir()
    result = run_lib(
        "kind_load_image ray101:0.1.0-abc", tmp_path / "bin", {"TMPDIR": str(tmp_path / "tmp")}
    )
    assert result.returncode == 0, result.stderr
    assert "ray101:0.1.0-abc is on ray101-worker already" in result.stdout
    # Only the worker without this build, never the control plane, read from
    # the pipe docker save writes into: no archive is written on the way.
    assert sorted(p.name for p in loads.iterdir()) == ["ray101-worker2"]
    assert (loads / "ray101-worker2").read_text() == "/dev/stdin\nthe layers of ray101:0.1.0-abc\n"
    assert not list((tmp_path / "tmp").iterdir())


def test_a_disk_that_cannot_take_the_image_stops_the_load_saying_so(tmp_path):
    loads = _loader_bins(tmp_path / "bin", image_size=2**60)
    result = run_lib("kind_load_image ray101:0.1.0-abc", tmp_path / "bin")
    assert result.returncode == 1
    assert "loading ray101:0.1.0-abc onto ray101-worker2 needs" in result.stderr
    assert "GiB free where docker keeps its data" in result.stderr
    assert not list(loads.iterdir())
