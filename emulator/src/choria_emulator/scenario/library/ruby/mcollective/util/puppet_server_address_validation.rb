# Written for choria-emulator's library (not the puppet-agent plugin's file of the same name): the
# puppet agent's puppet_server_address validator requires this helper, which a client libdir holding
# only DDLs and validators lacks. It accepts "host", "host:port", "[ipv6]:port" and bare IPv6 addresses.
require 'ipaddr'

module MCollective
  module Util
    module PuppetServerAddressValidation
      NAME = /\A(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\z/

      def self.validate_server(server)
        text = server.to_s
        if text.start_with?('[')
          host, rest = text[1..-1].split(']', 2)
          port = rest.to_s.sub(/\A:/, '')
          IPAddr.new(host.to_s)
        elsif text.count(':') > 1
          IPAddr.new(text)
          port = ''
        else
          host, port = text.split(':', 2)
          raise "Invalid host name '#{host}'" unless host.to_s =~ NAME
        end
        unless port.to_s.empty? || (port =~ /\A\d+\z/ && port.to_i.between?(1, 65_535))
          raise "Invalid port '#{port}'"
        end
        true
      rescue IPAddr::InvalidAddressError
        raise "Invalid IPv6 address in '#{text}'"
      end
    end
  end
end
