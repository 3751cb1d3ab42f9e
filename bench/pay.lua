-- wrk script: every request is a new checkout attempt that pays with the test card.
local counter = 0
local thread_id = math.random(1, 1e9)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  counter = counter + 1
  local body = "attempt=bench" .. thread_id .. "x" .. counter .. "xxxxxxxx"
    .. "&quantity=1&email=bench%40example.com&name=Bench+Buyer&line1=1+Main+St"
    .. "&city=Oslo&postal_code=0150&country=Norway&card_number=4242424242424242"
    .. "&card_expiry=12%2F34&card_cvc=123"
  return wrk.format(nil, nil, nil, body)
end
