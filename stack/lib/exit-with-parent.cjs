// Preloaded (node --require) into child processes of start.mjs: the child exits when its
// stdin closes, which happens when the parent exits for any reason, SIGKILL included. Without
// it a `hardhat node` would outlive a killed start.mjs and keep its port.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
