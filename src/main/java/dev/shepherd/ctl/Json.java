package dev.shepherd.ctl;

import tools.jackson.databind.json.JsonMapper;

/**
 * The command line's one JSON mapper, in a class of its own so that it is built on first use only: building it
 * is most of a start's time, and commands that print the API's JSON unchanged, or fail, never need it.
 */
final class Json {

    static final JsonMapper MAPPER = JsonMapper.builder().build();

    private Json() {
    }
}
