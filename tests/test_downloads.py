"""Download discovery and classification (pinner.core.downloads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pinner.core.downloads import ScriptText, classify, scan_script, substitute

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def scan(text: str, source: str = "sh", **kw):
    return scan_script(ScriptText(text, source, "action.yml", first_line=10), origin="o/r@x", **kw)


def test_curl_versioned_url_is_found_with_its_line():
    sites = scan("set -e\ncurl -sSfL https://example.com/tool/v1.2.3/tool.tar.gz -o t.tgz\n")
    assert [(s.url, s.line, s.downloader) for s in sites] == [
        ("https://example.com/tool/v1.2.3/tool.tar.gz", 11, "curl")
    ]
    assert not sites[0].mutability.mutable


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://github.com/o/r/releases/latest/download/tool.tgz", "releases/latest"),
        ("https://example.com/tool/latest/tool.tgz", "'latest' in path"),
        ("https://raw.githubusercontent.com/o/r/main/install.sh", "branch 'main' in path"),
        ("https://github.com/o/r/archive/refs/heads/dev.tar.gz", "branch 'dev' in path"),
        ("https://github.com/o/r/archive/master.zip", "branch 'master' in path"),
        ("https://example.com/install.sh", "no version in URL"),
    ],
)
def test_mutable_urls_say_why(url, reason):
    m = classify(url)
    assert m.mutable
    assert reason in m.reasons


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/r/releases/download/v1.2.3/tool-linux.tgz",
        "https://example.com/dist/1.20.4/go1.20.4.linux-amd64.tar.gz",
        "https://raw.githubusercontent.com/o/r/0123456789abcdef0123456789abcdef01234567/x.sh",
        "https://github.com/o/r/archive/v2.tar.gz",
    ],
)
def test_versioned_urls_are_not_mutable(url):
    assert classify(url) == classify(url)  # deterministic
    assert not classify(url).mutable, classify(url).reasons


def test_pipe_to_shell_is_mutable_even_when_versioned():
    (site,) = scan("curl -fsSL https://example.com/v1.0.0/install.sh | sudo bash -s -- -y")
    assert site.pipe_to_shell
    assert "piped to a shell" in site.mutability.reasons


def test_wget_invoke_webrequest_and_continuations():
    sites = scan("wget -q \\\n  https://example.com/a/1.0/a.zip\n")
    assert [(s.url, s.line) for s in sites] == [("https://example.com/a/1.0/a.zip", 10)]
    ps = scan(
        "Invoke-WebRequest -Uri `\n  https://example.com/b/2.0/b.msi -OutFile b.msi",
        "run",
    )
    assert ps == [] or ps[0].url is not None  # bash dialect: backtick is not a continuation
    ps = scan_script(
        ScriptText(
            "Invoke-WebRequest -Uri `\n  https://example.com/b/2.0/b.msi -OutFile b.msi",
            "run",
            "action.yml",
            shell="pwsh",
        ),
        origin="o/r@x",
    )
    assert [s.url for s in ps] == ["https://example.com/b/2.0/b.msi"]


def test_inputs_substituted_from_caller_and_variables_from_the_script():
    text = (
        'VERSION="1.4.0"\n'
        "curl -L https://example.com/${{ inputs.tool }}/$VERSION/${{ inputs.tool }}.tgz\n"
    )
    (site,) = scan(text, inputs={"tool": "frob"})
    assert site.url == "https://example.com/frob/1.4.0/frob.tgz"
    assert site.template == "https://example.com/${{ inputs.tool }}/$VERSION/${{ inputs.tool }}.tgz"


def test_ambiguous_variable_stays_a_template_and_says_which():
    text = 'V=1.0\nif x; then V=2.0; fi\ncurl -LO "https://example.com/t/${V}/t.tgz"\n'
    (site,) = scan(text)
    assert site.url is None
    assert site.unresolved == ("$V",)


def test_unknown_expression_is_reported_as_template():
    (site,) = scan("curl -LO https://example.com/${{ runner.os }}/1.0/t.tgz")
    assert site.url is None
    assert site.unresolved == ("${{ runner.os }}",)


def test_dockerfile_add_and_run_curl_with_arg():
    text = (
        "FROM alpine:3.19\n"
        "ARG TOOL_VERSION=0.9.1\n"
        "ADD https://example.com/tool/${TOOL_VERSION}/tool /usr/bin/tool\n"
        "RUN apk add curl && \\\n"
        "    curl -fsSL https://example.com/other/latest/other.tgz | tar xz\n"
    )
    sites = scan_script(ScriptText(text, "dockerfile", "Dockerfile"), origin="o/r@x")
    assert [(s.downloader, s.url, s.line) for s in sites] == [
        ("ADD", "https://example.com/tool/0.9.1/tool", 3),
        ("curl", "https://example.com/other/latest/other.tgz", 4),
    ]
    assert sites[1].mutability.mutable


def test_comments_and_api_calls_are_not_downloads():
    text = (
        "# curl https://example.com/not/this/one.tgz\n"
        'curl -s -H "Authorization: Bearer $T" https://api.github.com/repos/o/r/releases/latest\n'
        "echo see https://example.com/docs\n"
    )
    assert scan(text) == []


def test_gh_release_download_becomes_a_release_asset_template():
    (site,) = scan("gh release download v1.2.3 -R o/tool -p 'tool-linux-*'")
    assert site.downloader == "gh release download"
    assert site.template == "https://github.com/o/tool/releases/download/v1.2.3/tool-linux-*"


def test_pip_install_url_and_python_urllib():
    (site,) = scan("pip install https://example.com/pkgs/foo-1.0-py3-none-any.whl")
    assert site.downloader == "pip"
    py = scan_script(
        ScriptText(
            'urllib.request.urlretrieve("https://example.com/x/2.1/x.bin", "x")\n', "py", "setup.py"
        ),
        origin="o/r@x",
    )
    assert [s.url for s in py] == ["https://example.com/x/2.1/x.bin"]


@pytest.mark.parametrize(
    "line",
    [
        "pip install git+https://github.com/o/r@v1.2.3",
        "python -m pip install -e git+https://github.com/o/r@v1#egg=r",
        "pip install hg+https://example.com/repo@1.0",
        "pip install -i https://pypi.example/simple tool",
        "pip install -ihttps://pypi.example/simple tool",
        "pip install --index-url https://pypi.example/simple tool",
        "pip install --index-url=https://pypi.example/simple tool",
        "pip3 install --extra-index-url 'https://pypi.example/simple' tool",
        "pip install -f https://example.com/wheels/ tool",
        "pip install --find-links=https://example.com/wheels/ tool",
        "uv pip install --index https://pypi.example/simple tool",
        "uv pip install --default-index https://pypi.example/simple tool",
        "PIP_INDEX_URL=https://pypi.example/simple pip install tool",
        "UV_EXTRA_INDEX_URL=https://pypi.example/simple uv pip install tool",
    ],
)
def test_pip_vcs_requirements_and_package_indexes_are_not_downloads(line: str) -> None:
    """pip clones a VCS requirement and reads an index page: neither is a file to hash."""
    assert scan(line) == []


def test_pip_files_next_to_an_index_are_still_downloads() -> None:
    sites = scan(
        "uv pip install --index-url https://pypi.example/simple "
        "https://example.com/tool-1.0.tar.gz -r https://example.com/v2/requirements.txt"
    )
    assert [s.url for s in sites] == [
        "https://example.com/tool-1.0.tar.gz",
        "https://example.com/v2/requirements.txt",
    ]


def test_javascript_scan_finds_archive_literals_only():
    js = (
        'const a = "https://example.com/docs";\n'
        'const u = "https://github.com/o/r/releases/download/v3.0.0/tool-linux.tar.gz";\n'
        "const t = `https://example.com/dl/${version}/tool.zip`;\n"
    )
    sites = scan_script(ScriptText(js, "js", "dist/index.js"), origin="o/r@x")
    assert [(s.template, s.url is not None, s.line) for s in sites] == [
        ("https://github.com/o/r/releases/download/v3.0.0/tool-linux.tar.gz", True, 2),
        ("https://example.com/dl/${version}/tool.zip", False, 3),
    ]


def test_substitute_resolves_chained_variables():
    url, left = substitute(
        "https://x/$BASE/t.tgz", inputs={}, variables={"BASE": "tools/${VER}", "VER": "1.2"}
    )
    assert (url, left) == ("https://x/tools/1.2/t.tgz", ())


def test_recall_on_real_download_lines_of_the_corpus():
    """Every download line the corpus marks (curl, wget, ADD, ...) is found by the scanner.

    The corpus lists URL lines found in real actions' scripts; we accept only misses that are
    REST API calls (not downloads) and wrapper functions we cannot see into.
    """
    forge = SHARED / "corpus" / "forge"
    if not forge.is_dir():
        pytest.skip("../shared/corpus is absent")
    sources = {
        "run": "run",
        "sh": "sh",
        "ps1": "ps1",
        "py": "py",
        "dockerfile": "dockerfile",
        "entrypoint": "sh",
    }
    total = found = 0
    for urls_json in sorted(forge.glob("*/*/urls.json")):
        for paths in json.loads(urls_json.read_text()).values():
            for path, entries in paths.items():
                for entry in entries:
                    if not entry["downloader"] or entry["source"] not in sources:
                        continue
                    text = entry["text"]
                    if entry["source"] == "dockerfile" and not text.lstrip().upper().startswith(
                        ("RUN", "ADD")
                    ):
                        text = "RUN " + text  # a continuation line of a RUN instruction
                    if any(u.startswith("https://api.github.com/") for u in entry["urls"]):
                        continue
                    total += 1
                    got = scan_script(ScriptText(text, sources[entry["source"]], path), origin="x")
                    if any(s.template.startswith(u) for u in entry["urls"] for s in got):
                        found += 1
    assert total > 250
    assert found / total >= 0.98, f"found {found} of {total}"


def test_positional_and_defaulted_parameters_stay_templates():
    (site,) = scan('curl -LO "https://x.example/v${1:-1.4.0}/tool-$1.tgz"')
    assert site.url is None
    assert site.unresolved == ("${1:-1.4.0}", "$1")
    (known,) = scan('V=2.0\ncurl -LO "https://x.example/${V:-1.0}/tool.tgz"')
    assert known.url == "https://x.example/2.0/tool.tgz"
