// Drives Piston's npm client (piston-client 1.0.2) for tests/sandbox/piston/client.rs: the
// client's module and the server's address are the arguments, the calls a JSON array on stdin
// ({"call": "runtimes"} or {"call": "execute", "args": [...]}, the client's own arguments). It
// prints what the client answered for each call, in order, as one JSON array; the Rust test
// asserts on it. The client is used as its users use it: nothing here changes what it sends.
import { pathToFileURL } from "node:url";

const [clientModule, server] = process.argv.slice(2);
const { piston } = await import(pathToFileURL(clientModule).href);

let input = "";
for await (const chunk of process.stdin) {
    input += chunk;
}
const client = piston({ server });
const answers = [];
for (const { call, args } of JSON.parse(input)) {
    answers.push(call === "runtimes" ? await client.runtimes() : await client.execute(...args));
}
// The client answers {success: false, error} when a request fails; an Error would print as {}.
const readable = (_, value) => (value instanceof Error ? String(value) : value);
process.stdout.write(JSON.stringify(answers, readable));
