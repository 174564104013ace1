// Where a webhook may point: each address refused or allowed as the settings say, including the forms
// that reach this host or a private network indirectly (unspecified, IPv4-mapped, NAT64, 6to4).
import { describe, expect, it } from "vitest";
import { refusedAddress, refusedUrl } from "../../src/services/events/webhook-targets.ts";

const strict = { allowLoopback: false, allowPrivate: false };
const loopbackOnly = { allowLoopback: true, allowPrivate: false };
const privateOnly = { allowLoopback: false, allowPrivate: true };

describe("refusedAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["0.0.0.0", "loopback"],
    ["::1", "loopback"],
    ["::", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "private"],
    ["100.64.0.1", "private"],
    ["::ffff:10.0.0.1", "private"],
    ["fd00::1", "private"],
    ["fe80::1", "private"],
    ["64:ff9b::a00:1", "private"],
    ["2002:a00:1::", "private"],
    ["::a00:1", "private"],
  ])("%s is %s", (address, kind) => {
    expect(refusedAddress(address, strict)).toMatch(kind === "loopback" ? /loopback/ : /private or reserved/);
    // Each setting opens its own kind only: the unspecified address is this host, not a private network.
    expect(refusedAddress(address, loopbackOnly) === undefined).toBe(kind === "loopback");
    expect(refusedAddress(address, privateOnly) === undefined).toBe(kind === "private");
  });

  it.each(["8.8.8.8", "93.184.216.34", "2606:4700::1111"])("%s is public", (address) => {
    expect(refusedAddress(address, strict)).toBeUndefined();
  });
});

describe("refusedUrl", () => {
  it("takes https to a public name or address, and http only to loopback when allowed", () => {
    expect(refusedUrl("https://hooks.example.com/x", strict)).toBeUndefined();
    expect(refusedUrl("https://93.184.216.34/x", strict)).toBeUndefined();
    expect(refusedUrl("http://127.0.0.1:9000/x", loopbackOnly)).toBeUndefined();
    expect(refusedUrl("http://localhost:9000/x", loopbackOnly)).toBeUndefined();
    expect(refusedUrl("http://hooks.example.com/x", loopbackOnly)).toMatch(/must be https/);
    expect(refusedUrl("https://[::ffff:7f00:1]/x", strict)).toMatch(/loopback/);
    expect(refusedUrl("https://0x7f000001/x", strict)).toMatch(/loopback/);
    expect(refusedUrl("https://2130706433/x", strict)).toMatch(/loopback/);
  });
});
