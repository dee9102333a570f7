// ajv_validate.js: validate JSON documents against JSON Schemas with ajv
// (draft 2020-12, with ajv-formats), for cllm's schema-to-grammar tests.
//   node ajv_validate.js check DIR          every DIR/*.json {schema, valid, invalid_text}:
//                                           valid instances must validate, invalid texts must not
//   node ajv_validate.js validate SCHEMA.json DOCS.jsonl
//                                           every line of DOCS is a JSON string holding one
//                                           document, which must parse and validate
// Exit 0 when all pass; prints one line per failure.
'use strict';
const fs = require('fs');
const path = require('path');
const modDir = process.env.CLLM_AJV_DIR + '/node_modules/';
const Ajv2020 = require(modDir + 'ajv/dist/2020').default;
const addFormats = require(modDir + 'ajv-formats').default;

function compile(schema) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

let fails = 0, passes = 0;
function fail(msg) { fails++; console.log('FAIL ' + msg); }

const [mode, a, b] = process.argv.slice(2);
if (mode === 'check') {
  for (const f of fs.readdirSync(a).filter((x) => x.endsWith('.json')).sort()) {
    const d = JSON.parse(fs.readFileSync(path.join(a, f), 'utf8'));
    const v = compile(d.schema);
    for (const inst of d.valid) {
      if (v(inst)) passes++; else fail(`${f}: valid instance rejected: ${JSON.stringify(inst)} ${JSON.stringify(v.errors)}`);
    }
    for (const t of d.invalid_text) {
      let doc, parsed = true;
      try { doc = JSON.parse(t); } catch (e) { parsed = false; }
      if (!parsed || !v(doc)) passes++; else fail(`${f}: invalid text accepted: ${t}`);
    }
  }
} else if (mode === 'validate') {
  const v = compile(JSON.parse(fs.readFileSync(a, 'utf8')));
  const lines = fs.readFileSync(b, 'utf8').split('\n').filter((l) => l.length > 0);
  for (const l of lines) {
    let doc;
    try { doc = JSON.parse(JSON.parse(l)); } catch (e) { fail(`not JSON: ${l}`); continue; }
    if (v(doc)) passes++; else fail(`invalid: ${l} ${JSON.stringify(v.errors)}`);
  }
} else {
  console.error('usage: ajv_validate.js check DIR | validate SCHEMA DOCS.jsonl');
  process.exit(2);
}
console.log(`${passes} passed, ${fails} failed`);
process.exit(fails ? 1 : 0);
