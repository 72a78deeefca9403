-- POST /api/v2/batch with 1,000 "event" operations per request (customer.io Track v2), one per
-- customer of the same 1,000 as track_event.lua. Bodies are built once, in init. Basic auth site1:key1.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic c2l0ZTE6a2V5MQ=="
local ops = {}
for i = 0, 999 do
  ops[#ops + 1] = '{"type":"person","identifiers":{"id":"' .. i ..
    '"},"action":"event","name":"purchased","attributes":{"price":23.45}}'
end
wrk.body = '{"batch":[' .. table.concat(ops, ",") .. ']}'
wrk.path = "/api/v2/batch"
