#!/usr/bin/env ruby
# Ask geoipmq where IP addresses are, with a time-out and retries (Lazy Pirate).
#
#   ruby examples/geoip_client.rb [tcp://127.0.0.1:5555] IP...
#
# Needs ffi-rzmq (Debian: ruby-ffi-rzmq). Prints one line per address; exits 1 when the
# service does not answer in time. Unlike the original's client, it never blocks forever.
require "ffi-rzmq"

endpoint = ARGV.first&.start_with?("tcp://", "ipc://") ? ARGV.shift : "tcp://127.0.0.1:5555"
ips = ARGV
abort "usage: geoip_client.rb [ENDPOINT] IP..." if ips.empty?

TIMEOUT_MS = 1000
ATTEMPTS = 3

context = ZMQ::Context.new
reply = nil
ATTEMPTS.times do
  socket = context.socket(ZMQ::REQ)
  socket.setsockopt(ZMQ::LINGER, 0)
  socket.setsockopt(ZMQ::IPV6, 1) # lets it connect to tcp://[::1]:5555 too
  socket.connect(endpoint)
  socket.send_string("geoip #{ips.join(' ')}")
  poller = ZMQ::Poller.new
  poller.register_readable(socket)
  if poller.poll(TIMEOUT_MS) > 0
    reply = +""
    socket.recv_string(reply)
  end
  socket.close
  break if reply
end
context.terminate

if reply.nil?
  warn "geoip_client: no reply from #{endpoint}"
  exit 1
end
ips.zip(reply.split("\n")).each { |ip, line| puts "#{ip}\t#{line}" }
