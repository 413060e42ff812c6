/**
 * Generates the OpenAPI 3.1 document from the route specs (served at /openapi.json). Each
 * operation carries `x-inlay-auth` (none, enrolment, enforcer, viewer, editor, admin): the
 * authorisation the server enforces, which the route-coverage tests read back.
 * @module
 */
import { z } from "zod";
import type { RouteSpec } from "./route-spec.js";

function schemaOf(t: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const js = z.toJSONSchema(t, { io, unrepresentable: "any" }) as Record<string, unknown>;
  delete js.$schema;
  return js;
}

function operationId(r: RouteSpec): string {
  const words = r.path
    .replace(/^\/api\//, "")
    .split(/[/{}.-]+/)
    .filter((w) => w !== "" && w !== "v1");
  return r.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/** The OpenAPI document for `routes`. */
export function buildOpenApi(routes: readonly RouteSpec[], options: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: unknown[] = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    if (r.query instanceof z.ZodObject) {
      const js = schemaOf(r.query, "input") as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
      for (const [name, schema] of Object.entries(js.properties ?? {})) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: "query", required: js.required?.includes(name) ?? false, description, schema: rest });
      }
    }
    const op: Record<string, unknown> = {
      operationId: operationId(r),
      summary: r.summary,
      tags: [r.tag],
      "x-inlay-auth": r.auth,
      security: r.auth === "none" ? [] : [{ bearer: [] }],
      parameters,
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([code, resp]) => [
          code,
          {
            description: resp.description,
            ...(resp.headers === undefined ? {} : { headers: Object.fromEntries(Object.entries(resp.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }])) }),
            ...(resp.schema === undefined ? {} : { content: { "application/json": { schema: schemaOf(resp.schema, "output") } } }),
          },
        ]),
      ),
    };
    if (r.body !== undefined) op.requestBody = { required: true, content: { "application/json": { schema: schemaOf(r.body, "input") } } };
    if (r.rawBody !== undefined) {
      op.requestBody = { required: true, description: r.rawBody.description, content: Object.fromEntries(r.rawBody.contentTypes.map((t) => [t, { schema: { type: "string" } }])) };
    }
    (paths[r.path] ??= {})[r.method] = op;
  }
  return {
    openapi: "3.1.0",
    info: { title: "Inlay console API", version: options.version, description: "Administrative API (/api/v1) and enforcer protocol (/api/enforcer/v1, docs/console-protocol.md)." },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API token, session token, enrolment token or enforcer credential, as x-inlay-auth says" } } },
    paths,
  };
}
