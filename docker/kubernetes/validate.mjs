// Offline schema validation of Kubernetes manifests; run by validate.sh,
// from a directory where kubernetes-models, yaml and typescript are installed.
//
// Two checks per document, both against the Kubernetes OpenAPI schemas that
// the kubernetes-models package ships:
//  1. the JSON schema (types, required fields, formats, int-or-string), with
//     the package's precompiled ajv validators;
//  2. unknown fields, which those schemas let through: each document becomes
//     a typed object literal in a TypeScript file, and tsc's excess-property
//     check names any field the API does not have ("periodSecond").
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { basename } from "node:path";
import { parseAllDocuments } from "yaml";

const files = process.argv.slice(2);
const typed = [];
let failures = 0;

for (const file of files) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const [index, doc] of docs.entries()) {
    const where = `${basename(file)}#${index + 1}`;
    if (doc.errors.length) {
      console.error(`${where}: YAML: ${doc.errors[0].message}`);
      failures++;
      continue;
    }
    const data = doc.toJS();
    if (data == null) continue;
    const { apiVersion, kind } = data;
    let Model;
    try {
      Model = (await import(`kubernetes-models/${apiVersion}`))[kind];
    } catch {
      // reported below
    }
    if (!Model) {
      console.error(`${where}: no schema for ${apiVersion} ${kind}`);
      failures++;
      continue;
    }
    typed.push({ where, apiVersion, kind, data });
    try {
      new Model(data).validate();
      console.log(`${where}: ${kind} ${data.metadata?.name}: schema OK`);
    } catch (e) {
      console.error(`${where} (${kind} ${data.metadata?.name}): ${e.message}`);
      failures++;
    }
  }
}

// One `const` per document; a tsc error line starts with the file and line,
// so each document gets its own line range to map errors back.
let ts = "";
const lineToDoc = [];
for (const [i, { where, apiVersion, kind, data }] of typed.entries()) {
  ts += `import type { I${kind} as T${i} } from "kubernetes-models/${apiVersion}/${kind}";\n`;
  lineToDoc.push(where);
}
for (const [i, { where, data }] of typed.entries()) {
  const body = `export const doc${i}: T${i} = ${JSON.stringify(data, null, 1)};\n`;
  for (let n = 0; n < body.split("\n").length - 1; n++) lineToDoc.push(where);
  ts += body;
}
writeFileSync("manifests.ts", ts);
try {
  execFileSync(
    "node_modules/.bin/tsc",
    ["--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext",
     "--moduleResolution", "nodenext", "--target", "es2022", "manifests.ts"],
    { encoding: "utf8", stdio: "pipe" },
  );
  if (typed.length) console.log(`${typed.length} documents: no unknown fields, no wrong types`);
} catch (e) {
  for (const line of `${e.stdout}`.split("\n").filter((l) => l.startsWith("manifests.ts("))) {
    const n = Number(line.match(/^manifests\.ts\((\d+)/)[1]);
    console.error(`${lineToDoc[n - 1] ?? "?"}: ${line.replace(/^manifests\.ts\(\d+,\d+\): /, "")}`);
    failures++;
  }
  if (!failures) {
    console.error(`${e.stdout}${e.stderr}`);
    failures++;
  }
}

console.log(failures ? `${failures} problems` : "all manifests valid");
process.exit(failures ? 1 : 0);
