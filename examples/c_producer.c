/* A minimal spicecap producer in C: reports the start of a SPICE main channel and one USB vsock transfer
 * to spicecapd, then prints what became of them. With no daemon running it does the same calls, which then
 * cost nothing, and exits 0.
 *
 *     PKG_CONFIG_PATH=PREFIX/lib/x86_64-linux-gnu/pkgconfig make   (lib/<multiarch> on Debian)
 *     ./c_producer [session-label]
 */
#include <spicecap/producer.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    spicecap_producer *producer = spicecap_producer_new("c_producer", argc > 1 ? argv[1] : "example", NULL, 0);
    if (producer == NULL) {
        perror("spicecap_producer_new");
        return 1;
    }
    if (!spicecap_producer_capturing(producer)) {
        char why[256];
        spicecap_producer_last_error(producer, why, sizeof why);
        printf("c_producer: not capturing (%s)\n", why);
    }

    /* The client's SPICE link message for the main channel: SpiceLinkHeader ("REDQ", protocol 2.2, 18 bytes
     * follow) and SpiceLinkMess (connection id 0, channel type 1, channel id 0, no capabilities). */
    static const unsigned char link_message[16 + 18] = {
        'R', 'E', 'D', 'Q', 2, 0, 0, 0, 2, 0, 0, 0, 18, 0, 0, 0,
        0, 0, 0, 0, SPICECAP_CHANNEL_MAIN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 18, 0, 0, 0};
    /* A data message with a mini header: SPICE_MSGC_MAIN_ATTACH_CHANNELS (104), no body. */
    static const unsigned char attach_channels[6] = {104, 0, 0, 0, 0, 0};

    spicecap_channel_opened(producer, SPICECAP_CHANNEL_MAIN, 0, SPICECAP_HEADER_MINI);
    spicecap_packet_sent(producer, SPICECAP_CHANNEL_MAIN, 0, link_message, sizeof link_message, 0);
    spicecap_packet_sent(producer, SPICECAP_CHANNEL_MAIN, 0, attach_channels, sizeof attach_channels, 0);
    spicecap_channel_closed(producer, SPICECAP_CHANNEL_MAIN, 0);

    /* A usb_vsock Sync packet from the host on USB link 0: magic "ffx", type 'S', zero addresses,
     * payload "vsock:1". */
    unsigned char sync[24 + 7] = {'f', 'f', 'x', 'S'};
    sync[20] = 7;
    memcpy(sync + 24, "vsock:1", 7);
    spicecap_usb_transfer_out(producer, 0, sync, sizeof sync, 0);

    if (!spicecap_producer_flush(producer, 1000)) printf("c_producer: the daemon did not take everything within 1 s\n");
    spicecap_producer_stats stats;
    spicecap_producer_get_stats(producer, &stats, sizeof stats);
    printf("c_producer: accepted %llu, delivered %llu, dropped %llu (session %u)\n",
           (unsigned long long)stats.accepted_records, (unsigned long long)stats.delivered_records,
           (unsigned long long)stats.dropped_records, (unsigned)stats.session);
    spicecap_producer_free(producer);
    return 0;
}
