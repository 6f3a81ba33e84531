<?php
// Cesbo-style "HTTP Request" auth backend, our equivalent of Cesbo's 20-line PHP sample.
// Run: php -S 127.0.0.1:6000 samples/auth.php   (and use samples/http-backend.yaml)
// The viewer's query arrives verbatim: ?token=123 allows, anything else gets 403.
$names = ['X-Session-Id', 'X-Channel-Id', 'X-Real-Ip', 'X-Real-Path', 'X-Real-Ua', 'X-Real-Host', 'X-Real-Origin'];
$seen = [];
foreach ($names as $name) {
    $key = 'HTTP_' . strtoupper(str_replace('-', '_', $name));
    $seen[] = $name . '=' . ($_SERVER[$key] ?? '');
}
file_put_contents('php://stderr', 'auth.php: ' . implode(' ', $seen) . "\n");

if (($_GET['token'] ?? '') === '123') {
    header('X-Session-Name: user123');
    http_response_code(200);
} else {
    http_response_code(403);
}
