-- usb_vsock.lua: Wireshark (4.0+) dissector for spicecap's USB vsock captures.
--
-- A capture record is one USB transfer (or a fragment of one) in one direction: a 16-byte
-- pseudo-header written by spicecap, then the transfer bytes unchanged. A transfer holds one or
-- more Fuchsia usb_vsock packets back to back, each a 24-byte header ("ffx", type letter, device
-- and host cid and port, payload_len) and its payload. docs/formats.md, section "USB vsock",
-- describes both layouts byte by byte.
--
-- Install: copy into Wireshark's personal Lua plugin folder (Help > About > Folders), or run
-- `tshark -X lua_script:usb_vsock.lua ...`. The link type (USER0..USER15, default USER0 = 147)
-- is the preference usbvsock.linktype.
--
-- Wireshark 4.0's Lua API has no conversation objects, so the "conversation" of an address pair
-- is the generated field usbvsock.stream (like tcp.stream): filter `usbvsock.stream == N`.

-- When this file is found twice (the .deb's copy in the global plugin folder and a personal one from
-- `spicecap install`), the second Proto("usbvsock") would fail with "there cannot be two protocols
-- with the same description" at every Wireshark start: the first copy loaded is the one used. Each
-- plugin has its own environment, so the mark goes into the Lua state's real globals, _G.
if _G.spicecap_usb_vsock_loaded then return end
_G.spicecap_usb_vsock_loaded = true

local proto = Proto("usbvsock", "USB vsock")

local PSEUDO_HEADER_SIZE = 16
local VSOCK_HEADER_SIZE = 24
local LINKTYPE_USER0 = 147

local FLAG_MORE_FRAGMENTS = 0x0001
local FLAG_TRUNCATED = 0x0002
local FLAG_DROPS_BEFORE = 0x0004

local DIRECTIONS = { [0] = "host→device", [1] = "device→host" }

local TYPE_NAMES = {
    S = "Sync", C = "Connect", A = "Accept", F = "Finish", R = "Reset",
    D = "Data", E = "Echo", e = "EchoReply", X = "Pause",
}

-- Packet types whose header carries a connection's address pair.
local ADDRESSED = { C = true, A = true, F = true, R = true, D = true }

---------------------------------------------------------------------------------------------
-- Fields

local f = proto.fields
-- Pseudo-header (one per record)
f.version = ProtoField.uint8("usbvsock.version", "Record format version", base.DEC)
f.direction = ProtoField.uint8("usbvsock.direction", "Direction", base.DEC, DIRECTIONS)
f.flags = ProtoField.uint16("usbvsock.flags", "Flags", base.HEX)
f.flag_more = ProtoField.bool("usbvsock.flags.more_fragments", "More fragments", 16, nil, FLAG_MORE_FRAGMENTS)
f.flag_truncated = ProtoField.bool("usbvsock.flags.truncated", "Truncated by the producer", 16, nil, FLAG_TRUNCATED)
f.flag_drops = ProtoField.bool("usbvsock.flags.drops_before", "Transfers lost before this one", 16, nil,
    FLAG_DROPS_BEFORE)
f.flag_reserved = ProtoField.uint16("usbvsock.flags.reserved", "Reserved", base.HEX, nil, 0xfff8)
f.link = ProtoField.uint32("usbvsock.link", "Link", base.DEC)
f.transfer_length = ProtoField.uint32("usbvsock.transfer_length", "Transfer length", base.DEC)
f.fragment_offset = ProtoField.uint32("usbvsock.fragment_offset", "Fragment offset", base.DEC)
f.reassembled_in = ProtoField.framenum("usbvsock.reassembled_in", "Reassembled in frame")
f.fragment_frames = ProtoField.string("usbvsock.fragment_frames", "Reassembled from frames")
f.packet_count = ProtoField.uint32("usbvsock.packet_count", "Packets in transfer", base.DEC)
-- vsock packet (one per packet in the transfer)
f.packet = ProtoField.none("usbvsock.packet", "vsock packet")
f.magic = ProtoField.string("usbvsock.magic", "Magic")
f.type = ProtoField.string("usbvsock.type", "Type")
f.type_name = ProtoField.string("usbvsock.type_name", "Type name")
f.device_cid = ProtoField.uint32("usbvsock.device_cid", "Device CID", base.DEC)
f.host_cid = ProtoField.uint32("usbvsock.host_cid", "Host CID", base.DEC)
f.device_port = ProtoField.uint32("usbvsock.device_port", "Device port", base.DEC)
f.host_port = ProtoField.uint32("usbvsock.host_port", "Host port", base.DEC)
f.payload_len = ProtoField.uint32("usbvsock.payload_len", "Payload length", base.DEC)
f.payload = ProtoField.bytes("usbvsock.payload", "Payload")
f.sync_version = ProtoField.string("usbvsock.sync_version", "Sync version")
f.pause = ProtoField.bool("usbvsock.pause", "Pause")
f.control = ProtoField.bool("usbvsock.control", "Control stream")
f.stream = ProtoField.uint32("usbvsock.stream", "Stream index", base.DEC)

local e = {
    bad_record = ProtoExpert.new("usbvsock.bad_record", "Malformed spicecap vsock record",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_magic = ProtoExpert.new("usbvsock.bad_magic", "Bad magic (expected \"ffx\")",
        expert.group.MALFORMED, expert.severity.ERROR),
    truncated_header = ProtoExpert.new("usbvsock.truncated_header", "Truncated vsock header",
        expert.group.MALFORMED, expert.severity.ERROR),
    payload_past_end = ProtoExpert.new("usbvsock.payload_past_end", "payload_len runs past the end of the transfer",
        expert.group.MALFORMED, expert.severity.ERROR),
    payload_cut = ProtoExpert.new("usbvsock.payload_cut", "Payload cut short by the producer (transfer truncated)",
        expert.group.UNDECODED, expert.severity.NOTE),
    unknown_type = ProtoExpert.new("usbvsock.unknown_type", "Unknown vsock packet type",
        expert.group.MALFORMED, expert.severity.ERROR),
    sync_not_last = ProtoExpert.new("usbvsock.sync_not_last", "Sync is not the last packet of its transfer",
        expert.group.PROTOCOL, expert.severity.WARN),
    bad_sync = ProtoExpert.new("usbvsock.bad_sync", "Sync payload is not \"vsock:N\"",
        expert.group.PROTOCOL, expert.severity.WARN),
    bad_pause = ProtoExpert.new("usbvsock.bad_pause", "Pause payload is not exactly 1 byte",
        expert.group.PROTOCOL, expert.severity.WARN),
    not_connected = ProtoExpert.new("usbvsock.not_connected", "Data on an address pair that is not connected",
        expert.group.SEQUENCE, expert.severity.WARN),
    missing_fragment = ProtoExpert.new("usbvsock.missing_fragment", "Fragment out of sequence: part of the transfer is missing",
        expert.group.SEQUENCE, expert.severity.WARN),
    drops_before = ProtoExpert.new("usbvsock.drops", "Transfers were lost before this one",
        expert.group.SEQUENCE, expert.severity.NOTE),
}
proto.experts = { e.bad_record, e.bad_magic, e.truncated_header, e.payload_past_end, e.payload_cut,
    e.unknown_type, e.sync_not_last, e.bad_sync, e.bad_pause, e.not_connected, e.missing_fragment,
    e.drops_before }

-- Payloads of Data packets go to the dissector registered for their device port, else their host port.
local port_table = DissectorTable.new("usbvsock.port", "USB vsock port", ftypes.UINT32, base.DEC, proto)

---------------------------------------------------------------------------------------------
-- Preferences: which LINKTYPE_USERn carries the records.

-- Each choice is {name, description, value}: `-o usbvsock.linktype:150` matches the name, the
-- preferences dialog shows the description.
local LINKTYPE_CHOICES = {}
for n = 0, 15 do
    local linktype = LINKTYPE_USER0 + n
    LINKTYPE_CHOICES[#LINKTYPE_CHOICES + 1] = { tostring(linktype), "USER" .. n .. " (" .. linktype .. ")", linktype }
end
proto.prefs.linktype = Pref.enum("Link type (LINKTYPE_USERn)", LINKTYPE_USER0,
    "The pcap link type spicecap writes USB vsock records with: 147 (USER0) to 162 (USER15), as chosen in "
    .. "the extcap options", LINKTYPE_CHOICES, false)

local wtap_encap_table = DissectorTable.get("wtap_encap")
local registered = nil -- { encap = n, previous = Dissector or nil }

local function register_linktype(linktype)
    if linktype < LINKTYPE_USER0 or linktype > LINKTYPE_USER0 + 15 then return end
    local encap = wtap_encaps.USER0 + (linktype - LINKTYPE_USER0)
    if registered and registered.encap == encap then return end
    if registered then
        -- Give the old link type back to whoever had it (normally DLT_USER).
        wtap_encap_table:remove(registered.encap, proto)
        if registered.previous then wtap_encap_table:add(registered.encap, registered.previous) end
    end
    registered = { encap = encap, previous = wtap_encap_table:get_dissector(encap) }
    wtap_encap_table:add(encap, proto)
end

function proto.prefs_changed()
    register_linktype(proto.prefs.linktype)
end

---------------------------------------------------------------------------------------------
-- State kept across records, computed on the first pass in frame order and remembered per frame
-- so that later passes (GUI clicks, two-pass tshark) show the same thing.

local partial = {}   -- link/direction -> transfer being reassembled
local frames = {}    -- frame number -> what the first pass learned about it
local pairs_state = {} -- link/address pair -> { stream = n, state = "connecting"|"connected"|"finishing"|"closed"|"unconnected" }
local next_stream = 0

function proto.init()
    partial, frames, pairs_state, next_stream = {}, {}, {}, 0
end

local function has_flag(flags, bit) return math.floor(flags / bit) % 2 == 1 end

local function pair_key(link, a)
    return table.concat({ link, a.device_cid, a.host_cid, a.device_port, a.host_port }, ":")
end

local function is_control(a)
    return a.device_cid == 0 and a.host_cid == 0 and a.device_port == 0 and a.host_port == 0
end

-- First pass only: advances the connection of the packet's address pair and says what the
-- packet means for it: its stream index, and whether Data arrived on a pair never connected.
local function track_connection(link, letter, a)
    if letter == "S" then
        -- A Sync mid-stream resets every connection of the link.
        local prefix = link .. ":"
        for key, conn in pairs(pairs_state) do
            if key:sub(1, #prefix) == prefix then conn.state = "closed" end
        end
        return {}
    end
    if not ADDRESSED[letter] then return {} end
    local key = pair_key(link, a)
    local conn = pairs_state[key]
    local function new_stream(state)
        conn = { stream = next_stream, state = state }
        next_stream = next_stream + 1
        pairs_state[key] = conn
    end
    local not_connected = false
    if letter == "C" then
        if not conn or conn.state == "closed" or conn.state == "unconnected" then new_stream("connecting")
        else conn.state = "connecting" end
    elseif letter == "A" then
        if not conn or conn.state == "closed" then new_stream("connected") else conn.state = "connected" end
    elseif letter == "F" then
        if not conn then new_stream("finishing") else conn.state = "finishing" end
    elseif letter == "R" then
        if not conn then new_stream("closed") else conn.state = "closed" end
    elseif letter == "D" then
        if is_control(a) then
            if not conn then new_stream("connected") end
        else
            if not conn or conn.state == "closed" then new_stream("unconnected") end
            not_connected = conn.state == "unconnected"
        end
    end
    return { stream = conn.stream, not_connected = not_connected }
end

-- First pass only: where this record's bytes belong. Returns a table:
--   whole = true: the record holds a whole transfer (maybe truncated), dissect it as is;
--   reassembled = ByteArray: the record completes a fragmented transfer;
--   fragment = true: a piece of a transfer still being reassembled (or given up on).
local function place_record(pinfo, hdr, bytes_tvb)
    local key = hdr.link .. "/" .. hdr.direction
    local more = has_flag(hdr.flags, FLAG_MORE_FRAGMENTS)
    local result = {}
    local pending = partial[key]
    if hdr.fragment_offset == 0 then
        if pending then
            -- The previous transfer never got its last fragment.
            result.missing = string.format("transfer started in frame %d never got its last fragment (%d of %d bytes seen)",
                pending.frames[1], pending.next_offset, pending.length)
            partial[key] = nil
        end
        if not more then
            result.whole = true
            return result
        end
        partial[key] = { bytes = bytes_tvb:bytes(), next_offset = bytes_tvb:len(), length = hdr.transfer_length,
            frames = { pinfo.number } }
        result.fragment = true
        return result
    end
    if not pending or pending.next_offset ~= hdr.fragment_offset or pending.length ~= hdr.transfer_length then
        result.missing = string.format("fragment at offset %d of a %d-byte transfer, but %s", hdr.fragment_offset,
            hdr.transfer_length, pending and string.format("offset %d of a %d-byte transfer was expected",
                pending.next_offset, pending.length) or "no transfer was being reassembled")
        partial[key] = nil
        result.fragment = true
        return result
    end
    pending.bytes:append(bytes_tvb:bytes())
    pending.next_offset = pending.next_offset + bytes_tvb:len()
    pending.frames[#pending.frames + 1] = pinfo.number
    if more then
        result.fragment = true
        return result
    end
    partial[key] = nil
    result.reassembled = pending.bytes
    result.fragment_frames = pending.frames
    for _, n in ipairs(pending.frames) do
        if n ~= pinfo.number and frames[n] then frames[n].reassembled_in = pinfo.number end
    end
    return result
end

---------------------------------------------------------------------------------------------
-- Dissection

local function endpoint(cid, port) return cid .. ":" .. port end

-- The packet's endpoints as "cid:port", sender first.
local function sender_receiver(a, direction)
    local host, device = endpoint(a.host_cid, a.host_port), endpoint(a.device_cid, a.device_port)
    if direction == 1 then return device, host end
    return host, device
end

-- "host"/"device", sender first: the columns' text when no packet names an address.
local function sides(direction)
    if direction == 1 then return "device", "host" end
    return "host", "device"
end

-- "Data 2:5001 → 3:22 len=12": the sender first, as the transfer's direction says.
local function summarize(letter, a, direction, payload_len, extra)
    local name = TYPE_NAMES[letter] or string.format("Unknown(0x%02x)", letter:byte())
    local parts = { name }
    if ADDRESSED[letter] or not is_control(a) then
        if letter == "D" and is_control(a) then
            parts[#parts + 1] = "control"
        else
            local from, to = sender_receiver(a, direction)
            parts[#parts + 1] = from .. " → " .. to
        end
    end
    if extra then parts[#parts + 1] = extra end
    if letter == "D" or letter == "E" or letter == "e" or not TYPE_NAMES[letter] then
        parts[#parts + 1] = "len=" .. payload_len
    end
    return table.concat(parts, " ")
end

-- Dissects the vsock packets of one whole transfer; returns the Info text, whether a payload
-- dissector ran, and the first connection endpoints seen (sender, receiver) if any.
local function dissect_transfer(ttvb, pinfo, tree, hdr, state)
    local size = ttvb:len()
    local truncated = has_flag(hdr.flags, FLAG_TRUNCATED)
    local summaries = {}
    local offset, index, decoded = 0, 0, 0
    state.packets = state.packets or {}
    local first_pass = not pinfo.visited
    local subdissected = false
    local from, to = nil, nil

    while offset < size do
        index = index + 1
        local remaining = size - offset
        if remaining < VSOCK_HEADER_SIZE then
            local item = tree:add(f.packet, ttvb(offset, remaining))
            item:set_text(string.format("vsock packet %d: truncated header (%d of %d bytes)", index, remaining,
                VSOCK_HEADER_SIZE))
            if truncated then
                item:add_proto_expert_info(e.payload_cut, "Header cut short by the producer")
            else
                item:add_proto_expert_info(e.truncated_header, string.format(
                    "Truncated vsock header at offset %d: %d of %d bytes", offset, remaining, VSOCK_HEADER_SIZE))
                summaries[#summaries + 1] = "[truncated header]"
            end
            break
        end

        local magic = ttvb(offset, 3):string()
        local letter = string.char(ttvb(offset + 3, 1):uint())
        -- The type field must stay valid text even for a garbage byte.
        local shown_letter = letter:match("^[%w%p ]$") and letter or string.format("\\x%02x", letter:byte())
        local a = {
            device_cid = ttvb(offset + 4, 4):le_uint(), host_cid = ttvb(offset + 8, 4):le_uint(),
            device_port = ttvb(offset + 12, 4):le_uint(), host_port = ttvb(offset + 16, 4):le_uint(),
        }
        local payload_len = ttvb(offset + 20, 4):le_uint()
        local available = remaining - VSOCK_HEADER_SIZE
        local fits = payload_len <= available
        local shown_len = fits and payload_len or available
        local item = tree:add(f.packet, ttvb(offset, VSOCK_HEADER_SIZE + shown_len))
        item:add(f.magic, ttvb(offset, 3))

        if magic ~= "ffx" then
            item:set_text(string.format("vsock packet %d: bad magic", index))
            item:add_proto_expert_info(e.bad_magic, string.format("Bad magic at offset %d (expected \"ffx\")", offset))
            summaries[#summaries + 1] = "[bad magic]"
            break
        end

        local known = TYPE_NAMES[letter] ~= nil
        local type_item = item:add(f.type, ttvb(offset + 3, 1), shown_letter)
        type_item:append_text(" (" .. (TYPE_NAMES[letter] or "unknown") .. ")")
        item:add(f.type_name, ttvb(offset + 3, 1), TYPE_NAMES[letter] or "Unknown"):set_generated()
        if not known then
            type_item:add_proto_expert_info(e.unknown_type, string.format(
                "Unknown vsock packet type 0x%02x at offset %d", letter:byte(), offset))
        end
        item:add_le(f.device_cid, ttvb(offset + 4, 4))
        item:add_le(f.host_cid, ttvb(offset + 8, 4))
        item:add_le(f.device_port, ttvb(offset + 12, 4))
        item:add_le(f.host_port, ttvb(offset + 16, 4))
        local len_item = item:add_le(f.payload_len, ttvb(offset + 20, 4))
        local payload = shown_len > 0 and ttvb(offset + VSOCK_HEADER_SIZE, shown_len) or nil
        if payload then item:add(f.payload, payload) end

        -- Connection tracking happens once, in frame order; later passes read it back.
        local track = state.packets[index]
        if first_pass and not track then
            track = track_connection(hdr.link, letter, a)
            state.packets[index] = track
        end
        track = track or {}
        if letter == "D" and is_control(a) then item:add(f.control, true):set_generated() end
        if not from and not is_control(a) then from, to = sender_receiver(a, hdr.direction) end
        if track.stream then item:add(f.stream, track.stream):set_generated() end
        if track.not_connected then
            item:add_proto_expert_info(e.not_connected, string.format(
                "Data on %s:%d/%s:%d, an address pair with no Connect or Accept since the capture started or since its last Reset",
                a.host_cid, a.host_port, a.device_cid, a.device_port))
        end

        local extra = nil
        if letter == "S" and payload then
            local text = payload:string()
            item:add(f.sync_version, payload, text)
            extra = text
            if not (text == "vsock:0" or text == "vsock:1" or text:match("^vsock:2:%x+$")) then
                item:add_proto_expert_info(e.bad_sync, "Sync payload \"" .. text .. "\" is not a known vsock:N version")
            end
        elseif letter == "S" then
            item:add_proto_expert_info(e.bad_sync, "Sync without payload")
        end
        if letter == "X" then
            if payload_len == 1 and payload then
                item:add(f.pause, payload)
                extra = payload:uint() ~= 0 and "on" or "off"
            else
                item:add_proto_expert_info(e.bad_pause, string.format("Pause payload of %d bytes (expected 1)", payload_len))
            end
        end

        local summary = summarize(letter, a, hdr.direction, payload_len, extra)
        decoded = decoded + 1
        item:set_text(string.format("vsock packet %d: %s", index, summary))
        summaries[#summaries + 1] = summary

        if not fits then
            if truncated and offset + VSOCK_HEADER_SIZE + payload_len <= hdr.transfer_length then
                len_item:add_proto_expert_info(e.payload_cut, string.format(
                    "Payload cut short by the producer: %d of %d bytes captured", available, payload_len))
                summaries[#summaries] = summaries[#summaries] .. " [cut]"
            else
                len_item:add_proto_expert_info(e.payload_past_end, string.format(
                    "payload_len %d runs past the end of the transfer (%d bytes after the header at offset %d)",
                    payload_len, available, offset))
                summaries[#summaries] = summaries[#summaries] .. " [past end]"
            end
            break
        end

        if letter == "S" and offset + VSOCK_HEADER_SIZE + payload_len < size then
            item:add_proto_expert_info(e.sync_not_last, "Sync is followed by more packets in the same transfer")
        end

        if letter == "D" and payload then
            local sub = port_table:get_dissector(a.device_port) or port_table:get_dissector(a.host_port)
            if sub and not is_control(a) then
                sub:call(payload:tvb(), pinfo, tree)
                subdissected = true
            end
        end

        offset = offset + VSOCK_HEADER_SIZE + payload_len
    end

    tree:add(f.packet_count, decoded):set_generated()
    if size == 0 then summaries[1] = "empty transfer" end
    return table.concat(summaries, ", "), subdissected, from, to
end

function proto.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = "USB vsock"
    local size = tvb:len()
    local direction = size >= 2 and tvb(1, 1):uint() or 0
    pinfo.cols.src, pinfo.cols.dst = sides(direction)
    local root = tree:add(proto, tvb())

    if size < PSEUDO_HEADER_SIZE then
        root:add_proto_expert_info(e.bad_record, string.format(
            "Record of %d bytes is shorter than the %d-byte spicecap pseudo-header", size, PSEUDO_HEADER_SIZE))
        pinfo.cols.info = "[Malformed record: " .. size .. " bytes]"
        return size
    end

    local hdr = {
        version = tvb(0, 1):uint(), direction = tvb(1, 1):uint(), flags = tvb(2, 2):le_uint(),
        link = tvb(4, 4):le_uint(), transfer_length = tvb(8, 4):le_uint(), fragment_offset = tvb(12, 4):le_uint(),
    }
    root:add(f.version, tvb(0, 1))
    local dir_item = root:add(f.direction, tvb(1, 1))
    local flags_item = root:add_le(f.flags, tvb(2, 2))
    flags_item:add_le(f.flag_more, tvb(2, 2))
    flags_item:add_le(f.flag_truncated, tvb(2, 2))
    flags_item:add_le(f.flag_drops, tvb(2, 2))
    flags_item:add_le(f.flag_reserved, tvb(2, 2))
    root:add_le(f.link, tvb(4, 4))
    root:add_le(f.transfer_length, tvb(8, 4))
    root:add_le(f.fragment_offset, tvb(12, 4))

    if hdr.version ~= 1 then
        root:add_proto_expert_info(e.bad_record, "Pseudo-header version " .. hdr.version .. " is not supported (only 1)")
        pinfo.cols.info = "[Unsupported record version " .. hdr.version .. "]"
        return size
    end
    if not DIRECTIONS[hdr.direction] then
        dir_item:add_proto_expert_info(e.bad_record, "Direction " .. hdr.direction .. " is neither 0 nor 1")
        pinfo.cols.info = "[Malformed record: direction " .. hdr.direction .. "]"
        return size
    end
    local bytes_tvb = tvb:range(PSEUDO_HEADER_SIZE, size - PSEUDO_HEADER_SIZE)
    if hdr.fragment_offset + bytes_tvb:len() > hdr.transfer_length then
        root:add_proto_expert_info(e.bad_record, string.format(
            "Record bytes end at transfer offset %d, past its transfer length %d",
            hdr.fragment_offset + bytes_tvb:len(), hdr.transfer_length))
        pinfo.cols.info = "[Malformed record: fragment past the transfer length]"
        return size
    end
    if has_flag(hdr.flags, FLAG_DROPS_BEFORE) then
        flags_item:add_proto_expert_info(e.drops_before)
    end

    local state = frames[pinfo.number]
    if not state then
        state = place_record(pinfo, hdr, bytes_tvb)
        frames[pinfo.number] = state
    end
    if state.missing then root:add_proto_expert_info(e.missing_fragment, state.missing) end

    if state.fragment then
        root:append_text(string.format(", %s, fragment: bytes %d-%d of a %d-byte transfer", DIRECTIONS[hdr.direction],
            hdr.fragment_offset, hdr.fragment_offset + bytes_tvb:len() - 1, hdr.transfer_length))
        if state.reassembled_in then root:add(f.reassembled_in, state.reassembled_in):set_generated() end
        pinfo.cols.info = string.format("Fragment of a %d-byte transfer (offset %d, %d bytes)", hdr.transfer_length, hdr.fragment_offset, bytes_tvb:len())
        return size
    end

    local ttvb = bytes_tvb:tvb()
    if state.reassembled then
        ttvb = state.reassembled:tvb("Reassembled USB transfer")
        local list = {}
        for _, n in ipairs(state.fragment_frames) do list[#list + 1] = tostring(n) end
        root:add(f.fragment_frames, table.concat(list, ",")):set_generated()
    end
    root:append_text(string.format(", %s, %d bytes", DIRECTIONS[hdr.direction], ttvb:len()))

    local info, subdissected, from, to = dissect_transfer(ttvb, pinfo, root, hdr, state)
    if from then pinfo.cols.src, pinfo.cols.dst = from, to end
    if subdissected then
        -- Keep what the payload's dissector said, after our summary.
        local theirs = tostring(pinfo.cols.info)
        pinfo.cols.protocol = "USB vsock"
        pinfo.cols.info = info .. (theirs ~= "" and (" | " .. theirs) or "")
    else
        pinfo.cols.info = info
    end
    if state.reassembled then
        pinfo.cols.info:append(string.format(" [reassembled from %d records]", #state.fragment_frames))
    end
    return size
end

register_linktype(proto.prefs.linktype)
