// Preloaded into the example's npm servers (NODE_OPTIONS=--require): a server that listens on a
// port alone (as `app.listen(PORT)` does) binds $HOST instead of every interface.
"use strict";
const net = require("net");
const host = process.env.HOST;
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const portOnly = typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]));
  if (host && portOnly && (args.length === 1 || typeof args[1] === "function")) {
    args.splice(1, 0, host);
  }
  return listen.apply(this, args);
};
