// Preloaded by `make run` (NODE_OPTIONS=--require=...) into the example's npm MCP servers.
// server-everything calls `app.listen(PORT)` without a host, which listens on every interface, and
// offers no setting for the address; this makes any listen without a host listen on 127.0.0.1 only.
"use strict";
const net = require("net");

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (first !== null && typeof first === "object" && !Array.isArray(first)) {
    if (first.host === undefined && first.path === undefined && first.fd === undefined) {
      args[0] = { ...first, host: "127.0.0.1" };
    }
  } else if (args.length === 0 || typeof first === "function") {
    args.unshift(0, "127.0.0.1");
  } else if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    if (typeof args[1] !== "string") {
      args.splice(1, 0, "127.0.0.1");
    }
  }
  return listen.apply(this, args);
};
