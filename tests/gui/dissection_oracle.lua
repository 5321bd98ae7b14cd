-- The GUI tests' oracle: a postdissector loaded with `wireshark -X lua_script:...` (and `tshark -X ...` for
-- the reference) that appends one line per dissection Wireshark performs: its first pass over a new frame
-- and every re-dissection of a row (drawing the packet list, selecting a row). So the test reads what the
-- GUI itself decoded, not what a later `tshark -r` would.
--
-- Line: frame number TAB pinfo.visited TAB Protocol column TAB Info column TAB SPICE signature
-- The first pass of the Qt GUI runs without columns ("(protocol)"/"(info)" placeholders); the signature
-- (which link-stage message or which message types the SPICE dissector found) is there on every pass.
-- A line "#new-file" marks a new capture (Restart), from the protocol's init routine.
local out_path = assert(os.getenv("SPICECAP_ORACLE_OUT"), "SPICECAP_ORACLE_OUT names the oracle's output file")
local out = assert(io.open(out_path, "a"))
out:setvbuf("line")

local oracle = Proto("spicecap_oracle", "spicecap GUI test oracle")
local names = { "spice.link_client", "spice.link_server", "spice.auth_select_client", "spice.ticket_client",
                "spice.ticket_server", "spice.message_type", "usbvsock.type" }
local fields = {}
for i, name in ipairs(names) do
  local ok, field = pcall(Field.new, name)
  if ok then fields[i] = field end
end

function oracle.init()
  out:write("#new-file\n")
end

function oracle.dissector(tvb, pinfo, tree)
  local signature = {}
  for i, name in ipairs(names) do
    if fields[i] then
      for _, value in ipairs({ fields[i]() }) do
        local short = name:gsub("^[^.]+%.", "")
        if name == "spice.message_type" or name == "usbvsock.type" then
          short = short .. "=" .. tostring(value.value)
        end
        signature[#signature + 1] = short
      end
    end
  end
  out:write(string.format("%d\t%s\t%s\t%s\t%s\n", pinfo.number, tostring(pinfo.visited),
    tostring(pinfo.cols.protocol), tostring(pinfo.cols.info), table.concat(signature, ",")))
end

register_postdissector(oracle)
