-- POST /api/v1/customers/<id>/events, the same small JSON body as the Hummingbird peer's
-- post_event.lua; ids cycle over 1,000 customers. Basic auth site1:key1.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic c2l0ZTE6a2V5MQ=="
wrk.body = '{"name":"purchased","data":{"price":23.45}}'
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/api/v1/customers/" .. (counter % 1000) .. "/events")
end
