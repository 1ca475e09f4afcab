// The official openai npm client against Flightdeck's model gateway: chat (streaming and not),
// tool calls, embeddings, models, and an error. Usage: node compat.mjs BASE_URL KEY MODEL
// Prints one JSON line of results; exits 1 with a message on the first failure.
import OpenAI from "openai";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, defaultHeaders: { "X-Flightdeck-Session": "npm-compat" } });
const results = {};

function check(cond, what) {
  if (!cond) {
    console.error("FAILED: " + what);
    process.exit(1);
  }
}

const tools = [{
  type: "function",
  function: { name: "lookup_customer", description: "Looks up the customer", parameters: { type: "object", properties: { field: { type: "string" } } } },
}];

// 1. Not streamed, with a tool call, then the tool's answer.
const first = await client.chat.completions.create({
  model, tools, messages: [{ role: "user", content: "my invoice is wrong" }],
});
const call = first.choices[0].message.tool_calls?.[0];
check(call?.function?.name === "lookup_customer", "a tool call to lookup_customer, got " + JSON.stringify(first.choices[0].message));
const second = await client.chat.completions.create({
  model, tools, messages: [
    { role: "user", content: "my invoice is wrong" },
    first.choices[0].message,
    { role: "tool", tool_call_id: call.id, content: '{"plan":"pro"}' },
  ],
});
check(second.choices[0].message.content.startsWith("billing"), "a billing answer, got " + second.choices[0].message.content);
check(second.usage.total_tokens > 0, "usage on the answer");
results.chat = second.choices[0].message.content;

// 2. Streamed, with usage, assembled by the client's own stream helper.
const stream = await client.chat.completions.create({
  model, stream: true, stream_options: { include_usage: true },
  messages: [{ role: "user", content: "the site is down" }],
});
let text = "";
let usage = null;
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content ?? "";
  if (chunk.usage) usage = chunk.usage;
}
check(text.startsWith("incidents"), "a streamed incidents answer, got " + text);
check(usage && usage.completion_tokens > 0, "a usage chunk");
results.stream = text;

// 3. A streamed tool call, through the client's runner that accumulates deltas.
const runner = client.chat.completions.stream({ model, tools, messages: [{ role: "user", content: "refund my invoice" }] });
const final = await runner.finalChatCompletion();
check(final.choices[0].message.tool_calls?.[0]?.function?.name === "lookup_customer", "a streamed tool call");
results.streamedToolCall = final.choices[0].message.tool_calls[0].function.arguments;

// 4. Embeddings and models.
const emb = await client.embeddings.create({ model: "text-embedding-3-small", input: ["hello", "world"] });
check(emb.data.length === 2 && emb.data[0].embedding.length > 0, "two embeddings");
const models = [];
for await (const m of client.models.list()) models.push(m.id);
check(models.includes(model), "the pinned model in /v1/models, got " + models);
results.models = models;

// 5. The gateway's errors surface as the client's typed errors.
try {
  await client.chat.completions.create({ model: "gpt-4o-latest", messages: [{ role: "user", content: "hi" }] });
  check(false, "a 400 for an unpinned alias");
} catch (e) {
  check(e instanceof OpenAI.BadRequestError, "BadRequestError, got " + e);
  check(e.code === "model_not_allowed", "code model_not_allowed, got " + e.code);
  results.error = e.code;
}
console.log(JSON.stringify(results));
