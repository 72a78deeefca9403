-- POST /customers (sendwithus create/update with data merge); 1,000 customers.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic c2l0ZTE6a2V5MQ=="
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"email":"c' .. (counter % 1000) .. '@example.com","data":{"n":' .. counter .. ',"plan":"gold"}}'
  return wrk.format(nil, "/customers", nil, body)
end
