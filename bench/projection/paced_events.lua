-- POST /api/v1/customers/<id>/events at a paced rate: each connection waits DELAY_MS
-- (environment) before each request, so C connections give about C * 1000 / (DELAY_MS + latency)
-- requests/s. The rate actually reached is measured from the table, not assumed.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic c2l0ZTE6a2V5MQ=="
wrk.body = '{"name":"purchased","data":{"price":23.45}}'
local pause = tonumber(os.getenv("DELAY_MS") or "10")
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/api/v1/customers/load-" .. (counter % 1000) .. "/events")
end
delay = function() return pause end
