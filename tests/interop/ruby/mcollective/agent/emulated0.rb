# emulated0#generate as a real MCollective RPC agent, so a real mcollectived can join a load test
# (choria-emulator measure discovers and calls emulated0). The same answer as an emulated node
# (protocol.md §4.3): `size` characters of the repeating 0123456789. The DDL is the harness's
# (plugins/mcollective/agent/emulated0.ddl: input size, default 20; output message).
module MCollective
  module Agent
    class Emulated0 < RPC::Agent
      action "generate" do
        size = Integer(request[:size] || 20)
        reply.fail!("Validation failed: size should be between 0 and 10485760", 4) unless (0..10_485_760).cover?(size)
        reply[:message] = ("0123456789" * (size / 10 + 1))[0, size]
      end
    end
  end
end
