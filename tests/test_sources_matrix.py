"""``strategy.matrix`` expanded as the runner expands it (pinner.sources.matrix), and the job
images the scanner derives from it (issue 13, item 16)."""

from __future__ import annotations

import pytest

from pinner.sources.matrix import MAX_COMBINATIONS, combinations, expand
from pinner.sources.scan import scan

DIGEST = "@sha256:" + "a" * 64


def test_include_and_exclude_follow_githubs_documented_example() -> None:
    # the example of GitHub's workflow syntax documentation, "Expanding or adding matrix
    # configurations": an include adds to every original combination it does not overwrite,
    # may overwrite what an earlier include added, and is a combination of its own otherwise
    matrix = {
        "fruit": ["apple", "pear"],
        "animal": ["cat", "dog"],
        "include": [
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    }
    assert combinations(matrix) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_exclude_matches_partially_and_include_only_matrices_list_their_entries() -> None:
    matrix = {"os": ["a", "b"], "v": [1, 2], "exclude": [{"os": "b"}]}
    assert combinations(matrix) == [{"os": "a", "v": 1}, {"os": "a", "v": 2}]
    assert combinations({"include": [{"image": "x"}, {"image": "y"}]}) == [
        {"image": "x"},
        {"image": "y"},
    ]


@pytest.mark.parametrize(
    "matrix",
    [
        "${{ fromJSON(needs.setup.outputs.matrix) }}",  # the whole matrix
        {"image": "${{ fromJSON(needs.setup.outputs.images) }}"},  # one vector
        {"image": []},
        {"image": ["a"], "include": "${{ fromJSON(x) }}"},
        {"a": list(range(MAX_COMBINATIONS)), "b": [1, 2]},  # more jobs than GitHub runs
    ],
)
def test_what_is_not_written_out_is_not_guessed(matrix: object) -> None:
    assert combinations(matrix) is None
    assert expand("${{ matrix.image }}", matrix) is None


def test_expand_substitutes_literal_matrix_values_only() -> None:
    matrix = {"tag": ["1.0", 2, True], "cfg": [{"image": "x" + DIGEST}, {"image": "y"}]}
    assert expand("ghcr.io/o/i:${{ matrix.tag }}", matrix) == [
        "ghcr.io/o/i:1.0",
        "ghcr.io/o/i:2",
        "ghcr.io/o/i:true",
    ]
    assert expand("${{ matrix.cfg.image }}", matrix) == ["x" + DIGEST, "y"]
    assert expand("${{ matrix.cfg }}", matrix) is None  # a mapping is no image name
    assert expand("${{ matrix.tag }}-${{ inputs.x }}", matrix) is None  # another context
    assert expand("o/i:${{ matrix.missing }}", matrix) is None
    # alone, a key only some combinations have: the others run without a container
    assert expand("${{ matrix.image }}", {"include": [{"image": "z"}, {"os": "a"}]}) == ["z"]


def test_job_images_are_expanded_over_the_jobs_matrix() -> None:
    text = (
        "on: push\njobs:\n"
        "  build:\n"
        "    strategy:\n"
        "      matrix:\n"
        f"        image: ['node:20{DIGEST}', 'node:22{DIGEST}']\n"
        "        include:\n"
        "          - image: node:18\n"
        "            pg: 16\n"
        "    runs-on: ubuntu-latest\n"
        "    container: ${{ matrix.image }}\n"
        "    services:\n"
        "      db: {image: 'postgres:${{ matrix.pg }}'}\n"
        "  other:\n"
        "    strategy: {matrix: '${{ fromJSON(needs.build.outputs.m) }}'}\n"
        "    runs-on: ubuntu-latest\n"
        "    container: {image: '${{ matrix.image }}'}\n"
    )
    images = scan(text, "w.yml", "workflow").images
    assert [(i.line, i.image, i.context, i.template) for i in images] == [
        (11, f"node:20{DIGEST}", "container", "${{ matrix.image }}"),
        (11, f"node:22{DIGEST}", "container", "${{ matrix.image }}"),
        (11, "node:18", "container", "${{ matrix.image }}"),
        (13, "postgres:${{ matrix.pg }}", "service", None),  # pg is missing in two of three
        (17, "${{ matrix.image }}", "container", None),
    ]
