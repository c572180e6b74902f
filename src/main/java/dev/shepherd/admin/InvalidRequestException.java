package dev.shepherd.admin;

/** A request the admin API refuses with 400; its message is the problem's detail and says what to send. */
class InvalidRequestException extends RuntimeException {

    InvalidRequestException(String message) {
        super(message);
    }
}
