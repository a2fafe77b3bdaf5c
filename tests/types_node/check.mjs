// check.mjs - Foxglove's OMG IDL parser and CDR reader (@foxglove/omgidl-parser,
// @foxglove/omgidl-serialization) decode the CDR shmbus makes, and the values must be exactly
// those shmbus_type_to_json() printed for the same record.
//   node check.mjs FILE.idl TYPE OUTPUT   OUTPUT: typecat's lines, "CDRHEX JSON"
// Prints one "ok" line per record and exits 1 on the first difference, naming the field.
// The comparison (and how each value is represented) is in compare.mjs.
import { parseIDL } from "@foxglove/omgidl-parser";
import { MessageReader } from "@foxglove/omgidl-serialization";
import { readFileSync } from "node:fs";
import { Checker, fail, parseExact } from "./compare.mjs";

const [idlFile, typeName, outputFile] = process.argv.slice(2);
const defs = parseIDL(readFileSync(idlFile, "utf8"));
const reader = new MessageReader(typeName, defs);
const checker = new Checker(defs);
const lines = readFileSync(outputFile, "utf8").split("\n").filter((l) => l.length);
if (lines.length === 0) fail(`no records in ${outputFile}`);
lines.forEach((line, n) => {
  if (line.startsWith("error:")) fail(`line ${n + 1}: typecat: ${line}`);
  const sp = line.indexOf(" ");
  const cdr = Buffer.from(line.slice(0, sp), "hex");
  const theirs = reader.readMessage(cdr);
  checker.struct(checker.defs.get(typeName), parseExact(line.slice(sp + 1)), theirs, "");
  console.log(`ok ${n + 1}: ${cdr.length} bytes of CDR decode to our JSON`);
});
