"""Per-file pieces of checksums discovery: run blocks, inputs, scripts invoked."""

from __future__ import annotations

from pinner.core.checksums import (
    caller_with,
    input_defaults,
    load_positions,
    release_asset_of,
    run_blocks,
    scan_blocks,
    scripts_invoked,
)

ACTION = """\
name: setup-frob
inputs:
  version:
    description: which frob
    default: "1.2.3"
  flavour:
    default: ${{ github.repository }}
runs:
  using: composite
  steps:
    - shell: bash
      env:
        BASE: https://dl.example.com/frob
      run: |
        set -eu
        curl -fsSL "$BASE/${{ inputs.version }}/frob.tgz" | tar xz
    - run: "${{ github.action_path }}/scripts/install.sh"
      shell: bash
    - shell: pwsh
      run: Invoke-WebRequest https://dl.example.com/frob/latest/frob.zip -OutFile f.zip
"""

WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: acme/setup-frob@v1
        with:
          version: 2.0.0
          token: ${{ secrets.X }}
      - uses: acme/other@v2
  call:
    uses: acme/wf/.github/workflows/x.yml@v1
    with:
      level: "3"
"""


def test_run_blocks_know_their_first_line_shell_and_env():
    blocks = run_blocks(load_positions(ACTION))
    assert [(b.first_line, b.shell) for b in blocks] == [(15, "bash"), (17, "bash"), (20, "pwsh")]
    assert blocks[0].env == {"BASE": "https://dl.example.com/frob"}
    assert ACTION.splitlines()[blocks[0].first_line - 1].strip() == "set -eu"


def test_input_defaults_skip_expressions():
    assert input_defaults(load_positions(ACTION)) == {"version": "1.2.3"}


def test_caller_with_finds_the_step_and_the_reusable_job_by_line():
    doc = load_positions(WORKFLOW)
    assert caller_with(doc, 6) == {"version": "2.0.0"}  # expressions are not values
    assert caller_with(doc, 10) == {}
    assert caller_with(doc, 12) == {"level": "3"}
    assert caller_with(doc, 99) == {}


def test_scan_blocks_substitutes_env_and_inputs_per_caller():
    blocks = run_blocks(load_positions(ACTION))
    default = scan_blocks(
        blocks, origin="acme/setup-frob@c", file="action.yml", inputs={"version": "1.2.3"}
    )
    caller = scan_blocks(
        blocks, origin="acme/setup-frob@c", file="action.yml", inputs={"version": "2.0.0"}
    )
    assert [(s.url, s.line, s.pipe_to_shell) for s in default] == [
        ("https://dl.example.com/frob/1.2.3/frob.tgz", 16, False),
        ("https://dl.example.com/frob/latest/frob.zip", 20, False),
    ]
    assert caller[0].url == "https://dl.example.com/frob/2.0.0/frob.tgz"
    assert default[1].mutability.mutable


def test_scripts_invoked_are_resolved_inside_the_action_directory():
    blocks = run_blocks(load_positions(ACTION))
    assert [c.path for c in scripts_invoked(blocks, "setup")] == ["setup/scripts/install.sh"]
    assert [c.path for c in scripts_invoked(blocks, "")] == ["scripts/install.sh"]


def test_invalid_yaml_is_none_not_an_exception():
    assert load_positions("a: [unclosed") is None
    assert load_positions("x" * (3 * 1024 * 1024)) is None


def test_release_asset_urls_only_on_our_forge():
    url = "https://github.com/o/r/releases/download/v1.0.0/tool.tgz"
    assert release_asset_of(url, {"github.com"}) == ("o/r", "v1.0.0", "tool.tgz")
    assert release_asset_of(url, {"ghes.example"}) is None
    assert release_asset_of("https://github.com/o/r/archive/v1.tar.gz", {"github.com"}) is None


def test_script_arguments_feed_positional_parameters():
    blocks = run_blocks(
        load_positions(
            "runs:\n  using: composite\n  steps:\n"
            '    - run: bash "${{ github.action_path }}/install.sh" "${{ inputs.version }}" && x\n'
            "      shell: bash\n"
        )
    )
    (call,) = scripts_invoked(blocks, "")
    assert (call.path, call.args) == ("install.sh", ("${{ inputs.version }}",))


def test_coverage_finds_downloads_missing_from_a_manifest_and_entries_nothing_downloads():
    from pinner.core.checksums import Uncovered, coverage
    from pinner.core.downloads import ScriptText, scan_script
    from pinner.core.manifest import FoundIn, Manifest, ManifestEntry

    def entry(url: str, origin: str) -> ManifestEntry:
        return ManifestEntry(url, "a" * 64, 1, found_in=(FoundIn(origin, "action.yml", 1),))

    found = scan_script(
        ScriptText(
            "curl -o a https://x.example/a-1.0.tgz\ncurl -o b https://x.example/b-1.0.tgz\n"
            "curl -o c ${{ inputs.url }}/c.tgz\n",
            "sh",
            "install.sh",
        ),
        origin="o/r@1",
    )
    manifest = Manifest(
        (
            entry("https://x.example/a-1.0.tgz", "o/r@0"),
            entry("https://x.example/old-0.9.tgz", "o/r@0"),  # found earlier, not any more
            entry("https://x.example/listed-1.0.tgz", "--url"),  # the maintainer's own
            entry("https://x.example/asset-1.0.tgz", "release o/r@v1"),
        )
    )
    result = coverage(manifest, found)
    assert result.missing == (
        Uncovered("https://x.example/b-1.0.tgz", (FoundIn("o/r@1", "install.sh", 2),)),
    )
    assert result.stale == ("https://x.example/old-0.9.tgz",)
