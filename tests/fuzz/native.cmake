# IKEv2 message parser of the native engine (owner: native). Seeds:
# tests/fuzz/corpus/fuzz_ike_message_parser/ (hand-built messages from the unit tests, real
# strongSwan 5.9.8 messages, and payload chains prefixed with their first payload type).
ist_fuzz_target(fuzz_ike_message_parser
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_ike_message_parser.cpp
  LIBS ist_ike)
