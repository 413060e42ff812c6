import { test } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter } from "./rate-limiter.js";

test("RateLimiter allows a burst, then refuses until tokens refill", () => {
  let t = 0;
  const rl = new RateLimiter({ ratePerSecond: 2, burst: 3, now: () => t });
  assert.deepEqual([rl.take("a"), rl.take("a"), rl.take("a")], [0, 0, 0]);
  assert.ok(rl.take("a") >= 1, "fourth request in the same instant is refused");
  assert.equal(rl.take("b"), 0, "other keys have their own bucket");
  t = 500;
  assert.equal(rl.take("a"), 0, "half a second at 2/s refills one token");
  assert.ok(rl.take("a") >= 1);
});

test("RateLimiter forgets the oldest key when full", () => {
  const rl = new RateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 2, now: () => 0 });
  rl.take("a");
  rl.take("b");
  rl.take("c");
  assert.equal(rl.take("a"), 0, "a was evicted, so it starts with a fresh bucket");
});
