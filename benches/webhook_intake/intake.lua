-- wrk script: replays signed WooCommerce deliveries prepared by `webhook_intake gen`.
--
--   wrk -t2 -c32 -d20s --latency -s intake.lua http://127.0.0.1:8080/webhooks/shop -- requests.tsv 2
--
-- Arguments after `--`: the TSV file (delivery id, signature, body per line) and the number of
-- wrk threads (-t), which must match: thread k sends lines k, k+T, k+2T, … so no two requests
-- of a run carry the same delivery (a repeat would hit the inbox's dedupe, not the disk).
-- When a thread runs out of lines it stops rather than repeat; done() says so. A third argument
-- `cycle` makes it start over instead (for the baselines, which store nothing, so repeats are
-- harmless and a fast server would otherwise exhaust any file).
-- done() prints how many answers were 200 "stored" (new durable rows), 200 "already stored",
-- and anything else, plus how many requests were sent; the inbox must hold between `stored`
-- and `sent` rows (requests in flight when wrk stops are stored but never counted).

local threads = {}
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

local reqs = {}
local n, i = 0, 0
local cycle = false
sent, stored, again, other, exhausted = 0, 0, 0, 0, 0

function init(args)
   local path = args[1] or "requests.tsv"
   local nthreads = tonumber(args[2] or "1")
   cycle = args[3] == "cycle"
   local f = assert(io.open(path, "r"))
   local line_no = 0
   for line in f:lines() do
      if line_no % nthreads == tid then
         local delivery, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
         local headers = {
            ["Content-Type"] = "application/json",
            ["User-Agent"] = "WooCommerce/9.4.2 Hookshot (WordPress/6.7)",
            ["X-WC-Webhook-Source"] = "https://shop.example.com/",
            ["X-WC-Webhook-Topic"] = "order.updated",
            ["X-WC-Webhook-Resource"] = "order",
            ["X-WC-Webhook-Event"] = "updated",
            ["X-WC-Webhook-ID"] = "1",
            ["X-WC-Webhook-Delivery-ID"] = delivery,
            ["X-WC-Webhook-Signature"] = signature,
         }
         n = n + 1
         reqs[n] = wrk.format("POST", nil, headers, body)
      end
      line_no = line_no + 1
   end
   f:close()
   assert(n > 0, "no requests for thread " .. tid .. " in " .. path)
end

function request()
   i = i + 1
   if i > n and cycle then
      i = 1
   elseif i > n then
      -- Out of fresh deliveries: stop this thread instead of sending a repeat.
      exhausted = 1
      wrk.thread:stop()
      i = n
   end
   sent = sent + 1
   return reqs[i]
end

function response(status, headers, body)
   if status == 200 and body == "stored\n" then
      stored = stored + 1
   elseif status == 200 then
      again = again + 1
   else
      other = other + 1
      if other <= 3 then
         io.stderr:write("non-stored answer " .. status .. ": " .. tostring(body) .. "\n")
      end
   end
end

function done(summary, latency, requests)
   local t = { sent = 0, stored = 0, again = 0, other = 0, exhausted = 0 }
   for _, thread in ipairs(threads) do
      for k, _ in pairs(t) do
         t[k] = t[k] + (thread:get(k) or 0)
      end
   end
   io.write(string.format(
      "intake: sent %d, 200 stored %d, 200 already stored %d, other %d, duration %.2f s, stored/s %.1f\n",
      t.sent, t.stored, t.again, t.other, summary.duration / 1e6, t.stored / (summary.duration / 1e6)))
   io.write(string.format(
      "intake: latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      latency:percentile(99.9) / 1000, latency.max / 1000))
   if t.exhausted > 0 then
      io.write("intake: WARNING a thread ran out of prepared deliveries and stopped early; generate more\n")
   end
end
