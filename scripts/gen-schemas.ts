// Generates the published JSON schemas from the model types (the types are the documentation).
// `npm run schemas` writes them (`tsx scripts/gen-schemas.ts schema/X.schema.json` only those named);
// test/model/schemas.test.ts fails when a committed schema is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createGenerator } from "ts-json-schema-generator";

const root = fileURLToPath(new URL("..", import.meta.url));

export interface SchemaSpec {
  readonly file: string;
  readonly source: string;
  readonly type: string;
  readonly title: string;
}

export const SCHEMAS: readonly SchemaSpec[] = [
  {
    file: "schema/trace-report.schema.json",
    source: "src/model/report.ts",
    type: "TraceReport",
    title: "ovnkube-trace trace report",
  },
  {
    file: "schema/trace-run.schema.json",
    source: "src/model/trace-run.ts",
    type: "TraceRun",
    title: "ovnkube-trace trace run (what -o json|yaml prints)",
  },
  {
    file: "schema/parse-output.schema.json",
    source: "src/model/parsed.ts",
    type: "ParseOutput",
    title: "ovnkube-trace parse output",
  },
  {
    file: "schema/matrix.schema.json",
    source: "src/model/matrix.ts",
    type: "ReachabilityMatrix",
    title: "ovnkube-trace reachability matrix (what matrix -o json|yaml prints)",
  },
];

export function generateSchema(spec: SchemaSpec): string {
  const schema = createGenerator({
    path: `${root}${spec.source}`,
    tsconfig: `${root}tsconfig.json`,
    type: spec.type,
    skipTypeCheck: true,
    additionalProperties: false,
  }).createSchema(spec.type);
  return `${JSON.stringify({ ...schema, title: spec.title, $id: `https://ovnkube-trace.dev/${spec.file}` }, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const only = process.argv.slice(2);
  for (const spec of SCHEMAS.filter((s) => only.length === 0 || only.includes(s.file))) {
    writeFileSync(`${root}${spec.file}`, generateSchema(spec));
    console.log(`wrote ${spec.file}`);
  }
}
