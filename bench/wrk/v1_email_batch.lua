-- POST /v1/Email/ with 100 token messages a request (brand "bench" must exist); Basic site1:key1.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic c2l0ZTE6a2V5MQ=="
local counter = 0
request = function()
  local parts = {}
  for i = 1, 100 do
    counter = counter + 1
    parts[i] = '{"To":"r' .. (counter % 5000) .. '@example.com","Type":"token","BrandId":"bench","Token":"t' .. counter .. '","NumPhotos":3}'
  end
  return wrk.format(nil, "/v1/Email/", nil, '{"Messages":[' .. table.concat(parts, ",") .. ']}')
end
