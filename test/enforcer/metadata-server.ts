/**
 * A loopback server that answers like the platforms' metadata endpoints: ECS task metadata v4
 * (`$ECS_CONTAINER_METADATA_URI_V4` and `/task`, documents shaped as the real ones, extra fields
 * included) and the Cloud Run metadata server (refuses requests without `Metadata-Flavor: Google`,
 * as the real one does). Under `/v4/held-api` the same ECS documents are answered only once
 * `release()` is called (a slow endpoint). Anything else answers 500.
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const ECS_CONTAINER = {
  DockerId: "ea32192c8553fbff06c9340478a2ff089b2bb5646fb718b4ee206641c9086d66",
  Name: "api",
  DockerName: "ecs-api-26-api-cca48e8dcadd97805600",
  Image: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/api:1.4",
  ImageID: `sha256:${"d6".repeat(32)}`,
  Labels: { "com.amazonaws.ecs.cluster": "arn:aws:ecs:eu-west-1:111122223333:cluster/prod", "com.amazonaws.ecs.container-name": "api" },
  DesiredStatus: "RUNNING",
  KnownStatus: "RUNNING",
  Limits: { CPU: 2, Memory: 512 },
  CreatedAt: "2026-11-28T22:15:07.620912337Z",
  Type: "NORMAL",
  Networks: [{ NetworkMode: "awsvpc", IPv4Addresses: ["10.0.2.106"] }],
};

const ECS_TASK = {
  Cluster: "arn:aws:ecs:eu-west-1:111122223333:cluster/prod",
  TaskARN: "arn:aws:ecs:eu-west-1:111122223333:task/prod/158d1c8083dd49d6b527399fd6414f5c",
  Family: "api",
  ServiceName: "api-service",
  Revision: "26",
  DesiredStatus: "RUNNING",
  KnownStatus: "RUNNING",
  Limits: { CPU: 0.25, Memory: 512 },
  Containers: [ECS_CONTAINER],
  LaunchType: "FARGATE",
  ClockDrift: { ClockErrorBound: 0.446931, ReferenceTimestamp: "2026-11-28T22:00:00Z", ClockSynchronizationStatus: "SYNCHRONIZED" },
  AvailabilityZone: "eu-west-1b",
};

export interface MetadataServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, for GCE_METADATA_HOST */
  host: string;
  requests: { path: string; flavor: string | undefined }[];
  /** Resolves once a request for `path` has arrived (at once if one already did). */
  received(path: string): Promise<void>;
  /** Requests under /v4/held-api still waiting for release(). */
  readonly held: number;
  /** Answers the held requests and every later one under /v4/held-api. */
  release(): void;
  close(): Promise<void>;
}

export async function startMetadataServer(): Promise<MetadataServer> {
  const requests: MetadataServer["requests"] = [];
  const waiters: { path: string; resolve: () => void }[] = [];
  let holding: (() => void)[] | undefined = [];
  const server = createServer((req, res) => {
    const url = req.url ?? "";
    const flavor = req.headers["metadata-flavor"] as string | undefined;
    requests.push({ path: url, flavor });
    for (const w of waiters.filter((x) => x.path === url)) w.resolve();
    if (url.startsWith("/v4/held-api") && holding) {
      holding.push(() => answer(url.replace("/v4/held-api", "/v4/0f1e2d3c-api")));
      return;
    }
    answer(url);

    function answer(path: string): void {
      const send = (status: number, body: string, type = "application/json") => {
        res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
        res.end(body);
      };
      if (path.startsWith("/computeMetadata/")) {
        if (flavor !== "Google") return send(403, "Missing Metadata-Flavor:Google header.", "text/html");
        if (path === "/computeMetadata/v1/instance/region") return send(200, "projects/123456789012/regions/europe-west1", "application/text");
        if (path === "/computeMetadata/v1/project/project-id") return send(200, "shop-prod", "application/text");
        return send(404, "not found", "text/html");
      }
      if (path === "/v4/0f1e2d3c-api") return send(200, JSON.stringify(ECS_CONTAINER));
      if (path === "/v4/0f1e2d3c-api/task") return send(200, JSON.stringify(ECS_TASK));
      send(500, "internal error", "text/plain");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    received: (path) =>
      requests.some((r) => r.path === path) ? Promise.resolve() : new Promise((resolve) => waiters.push({ path, resolve })),
    get held() {
      return holding?.length ?? 0;
    },
    release() {
      const pending = holding ?? [];
      holding = undefined;
      for (const answer of pending) answer();
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
